# tilepress — the two commands of the README are `make run` and `make test`.
CARGO ?= cargo
TILESET ?= tilesets/default.toml
export TILEPRESS_PYTHON ?= $(CURDIR)/.venv/bin/python

.PHONY: run test test-deps test-infra soak soak-props audit lint fmt bench bench-compare bench-tippecanoe bench-tilemaker compat ci doc clean

## Build the embedded default tileset from fixtures/ into out/default.mbtiles (+ manifest) and publish it as a
## new version to the local store out/store (no network, no cloud). Rerun: identical content, no new version.
run:
	$(CARGO) run --release --quiet -- publish $(TILESET) --to file://out/store

## Every test: unit, integration (through the CLI, checked with independent readers), and the static checks of
## infra/ (Terraform, Kubernetes, Dockerfile, workflows, alert rules and their unit tests, shell scripts).
test: test-deps
	$(CARGO) test --all-targets
	scripts/lint-infra.sh

## Only the infra checks (installs checkov, kubernetes-validate, yamllint, actionlint… into .venv-infra).
test-infra:
	scripts/lint-infra.sh

## The property tests (manifest, clip and slice, MVT encoding) at 100,000 cases each instead of the default 256,
## in release mode (PROPTEST_CASES=N overrides the count of every `make test` run too).
soak-props:
	PROPTEST_CASES=100000 $(CARGO) test --release --lib props

## cargo audit of Cargo.lock against the offline RustSec database (scripts/audit.sh says which copy).
audit:
	scripts/audit.sh

## Installs the independent readers the tests use (GDAL ogrinfo, sqlite3, Python mapbox-vector-tile).
test-deps:
	@scripts/install-test-deps.sh

## rustfmt and clippy, warnings are errors.
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt

## Criterion benches (clipping, encoding vs the mvt crate), the side-by-side build against GDAL's ogr2ogr
## (countries z0–8 and z0–10, Malta z0–14; needs ../shared/fixtures-peers or PEERS=DIR), and manifest write/diff
## at 100k and 1M tiles; rendering one tile, and the raster build of Malta z0–14 against the vector one.
bench:
	$(CARGO) bench --bench clip --bench encode --bench render
	scripts/bench-vs-ogr2ogr.sh
	scripts/bench-manifest.sh
	scripts/bench-raster.sh

## Only the side-by-side build timing.
bench-compare:
	scripts/bench-vs-ogr2ogr.sh

## Side by side with tippecanoe 2.72.0 (installed into .venv on first use): Malta z0–14, countries z0–10,
## coastlines z0–12, defaults and drop-densest; per-zoom tiles, bytes, largest tile, features, and the targets.
bench-tippecanoe:
	scripts/bench-vs-tippecanoe.sh

## Side by side with tilemaker 2.2 (Debian's, apt-get installed on first use) and its OpenMapTiles profile:
## tilesets/{malta,monaco}-basemap.toml z0-14; wall time, peak RSS, tiles, features per layer, targets, node store.
bench-tilemaker:
	scripts/bench-vs-tilemaker.sh

## The store model test (random publish / rollback / gc / promote sequences, kills, concurrent gc) at 100,000
## cases per store, release build; `make test` runs it at 150.
soak:
	scripts/soak.sh 100000

## `mbtiles validate` (martin's tool, crates.io mbtiles 0.19.1) on our output; a slow first install.
compat:
	scripts/compat.sh

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps

## What CI runs.
ci: lint audit test doc

clean:
	rm -rf out target/criterion
