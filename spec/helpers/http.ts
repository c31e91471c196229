// One HTTP call to Chronos as any client would make it, for both ways of running it
// (in-process in spec/helpers/chronos.ts, a child process in spec/helpers/chronos-process.ts).
// The body is read in full and parsed as JSON when it is JSON, so assertions can use either.

export interface HttpAnswer {
  status: number
  headers: Headers
  text: string
  json: any
}

export interface HttpRequest {
  method: string
  body?: string | Buffer | undefined
  headers?: Record<string, string>
  /** Aborts the call after this long. @defaultValue no limit */
  timeoutMs?: number
}

export async function httpRequest (url: string, { method, body, headers = {}, timeoutMs }: HttpRequest): Promise<HttpAnswer> {
  const init: RequestInit = { method, headers }
  if (timeoutMs !== undefined) init.signal = AbortSignal.timeout(timeoutMs)
  if (body !== undefined) init.body = body
  const response = await fetch(url, init)
  const text = await response.text()
  let json: unknown = null
  try {
    json = JSON.parse(text)
  } catch {}
  return { status: response.status, headers: response.headers, text, json }
}
