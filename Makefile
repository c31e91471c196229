# Chronos developer entry points. `make test` is what CI runs (through .ci/run).
.PHONY: install build run fleet fleet-stop test test-cluster bench clean

# npm writes node_modules/.package-lock.json on every install, so it is the stamp:
# reinstall when node_modules is missing or older than package-lock.json.
install: node_modules/.package-lock.json

node_modules/.package-lock.json: package-lock.json
	npm ci
	@touch $@

build: install
	npm run build

# Starts a local Redis when none answers at $$REDIS_URL (see scripts/ensure-redis.sh).
# On a terminal the JSON logs go through pino-pretty for people; piped (CI, files) they stay JSON.
run: build
	scripts/ensure-redis.sh
	@if [ -t 1 ]; then npm start | npx pino-pretty; else npm start; fi

# Three instances on :8081-8083, one Redis, one spool dir (docs/scale-out.md); stopped by fleet-stop.
fleet: build
	scripts/ensure-redis.sh
	scripts/fleet.sh

fleet-stop:
	scripts/fleet.sh stop

# lint → typecheck → circular imports → layers point down (docs/architecture.md) → mocha under
# c8: coverage of lib/ to stdout and coverage/, failing below the floor in package.json "c8".
test: install
	npm run lint
	npm run typecheck
	npm run circular
	npm run layers
	npm test

# Chronos on a real three-master Redis Cluster (spec/cluster/: redis-server --cluster-enabled
# on free loopback ports, joined by redis-cli --cluster create). Apart from `make test` since a
# 100,000-record job takes about a minute; .ci/run runs both.
test-cluster: install
	npm run test:cluster

bench: build
	npm run bench

clean:
	rm -rf dist coverage .nyc_output bench-results
