// Tiny DOM and formatting helpers: elements are built with textContent only (no innerHTML),
// so nothing from the API is ever parsed as markup.
export function h (tag, attributes = {}, ...children) {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value)
    else if (name === 'class') element.className = value
    else element.setAttribute(name, value === true ? '' : String(value))
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    element.append(child instanceof window.Node ? child : document.createTextNode(String(child)))
  }
  return element
}

export function number (value, digits = 0) {
  return value === null || value === undefined ? '–' : Number(value).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
}

export function duration (ms) {
  if (ms === null || ms === undefined) return '–'
  const seconds = Math.round(ms / 1000)
  if (seconds < 60) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`
}

export function percent (status) {
  return status.total === 0 ? 100 : (100 * status.count) / status.total
}

export function progress (status) {
  return h('progress', { max: Math.max(status.total, 1), value: status.count, title: `${percent(status).toFixed(1)}%` })
}

export function stateBadge (state) {
  return h('span', { class: `state state-${state}` }, state)
}

export function time (iso) {
  return iso === null || iso === undefined ? '–' : new Date(iso).toLocaleString()
}
