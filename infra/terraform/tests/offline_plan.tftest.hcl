# Plans the configuration offline: no AWS credentials, no network, no state. Run it with an
# environment's tfvars (see README.md, "Checks"):
#   terraform init -backend=false -plugin-dir=/opt/tf-plugins   (or with registry access)
#   terraform test -var-file=environments/production.tfvars
# It proves that every tfvars file passes the variable validations and preconditions, that the
# whole configuration plans, that it names the store, region and namespace the Kubernetes
# overlays use, and that the CDN caches each kind of path as it should (cdn_caches_region_downloads);
# the account id is fixed below. The module's refusals (bad inputs) and its CDN resources are tested
# in modules/tileset-store/tests/.

provider "aws" {
  region                      = var.region
  access_key                  = "offline-test"
  secret_key                  = "offline-test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

provider "aws" {
  alias                       = "us_east_1"
  region                      = "us-east-1"
  access_key                  = "offline-test"
  secret_key                  = "offline-test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

override_data {
  target = data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}

override_data {
  target = module.tileset_store.data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}

run "plans_offline" {
  command = plan

  assert {
    condition     = output.store_url == "s3://${coalesce(var.bucket_name, "${var.name}-${var.environment}-store-123456789012")}/${var.store_prefix}"
    error_message = "store_url must be s3://<bucket>/<prefix>."
  }

  # The names every other part of the repository uses (infra/k8s overlays, infra/ci/README.md, docs/infra):
  # bucket tilepress-<env>-tiles, store prefix tiles, namespace tilepress-<env>, region eu-west-1.
  assert {
    condition     = output.store_url == "s3://tilepress-${var.environment}-tiles/tiles"
    error_message = "The example tfvars must give the store the overlays' TILEPRESS_STORE: s3://tilepress-<env>-tiles/tiles."
  }

  assert {
    condition     = output.region == "eu-west-1"
    error_message = "The example tfvars must use the overlays' AWS_REGION, eu-west-1."
  }

  assert {
    condition     = output.kubernetes_service_accounts.irsa_enabled && output.kubernetes_service_accounts.namespace == "tilepress-${var.environment}"
    error_message = "The roles must trust the ServiceAccounts of infra/k8s/overlays/<env>, in namespace tilepress-<env>."
  }

  assert {
    condition     = output.github_environment_variables.TILEPRESS_STORE == output.store_url
    error_message = "TILEPRESS_STORE must be the store URL."
  }

  assert {
    condition     = output.region == var.region
    error_message = "The region output must be the bucket's region."
  }
}

# The CDN's cache behaviours for the region downloads of `tilepress sync` (modules/tileset-store/cdn.tf), as
# the output cdn_cache_behaviors reports them: archives/ and deltas/ cached a year whatever the object says,
# never compressed (byte ranges of the stored object must line up for resumed downloads), GET/HEAD only;
# versions/ immutable; the pointer seconds. modules/tileset-store/tests/cdn.tftest.hcl checks that the
# distribution's behaviours really use these policies, and the access logging.
run "cdn_caches_region_downloads" {
  command = plan

  assert {
    condition     = toset(keys(output.cdn_cache_behaviors)) == toset(["*/current.json", "*/archives/*", "*/deltas/*", "*/versions/*", "default"])
    error_message = "The CDN must have behaviours for the pointer, archives, deltas and versions, and the default (tiles)."
  }

  assert {
    condition = alltrue([
      for p in ["*/archives/*", "*/deltas/*"] :
      output.cdn_cache_behaviors[p].min_ttl == 31536000 && output.cdn_cache_behaviors[p].default_ttl == 31536000 && output.cdn_cache_behaviors[p].max_ttl == 31536000
    ])
    error_message = "archives/ and deltas/ must be cached a year at the edge: min, default and max TTL 31536000."
  }

  assert {
    condition     = alltrue([for p in ["*/archives/*", "*/deltas/*"] : output.cdn_cache_behaviors[p].compress == false])
    error_message = "archives/ and deltas/ must not be compressed at the edge: it would break byte ranges (resumed downloads)."
  }

  assert {
    condition     = alltrue([for p in ["*/archives/*", "*/deltas/*"] : output.cdn_cache_behaviors[p].allowed_methods == tolist(["GET", "HEAD"])])
    error_message = "archives/ and deltas/ must allow GET and HEAD only."
  }

  assert {
    condition     = output.cdn_cache_behaviors["*/archives/*"].cache_policy == "${var.name}-${var.environment}-downloads" && output.cdn_cache_behaviors["*/deltas/*"].cache_policy == "${var.name}-${var.environment}-downloads"
    error_message = "archives/ and deltas/ must use the downloads cache policy."
  }

  assert {
    condition = (
      output.cdn_cache_behaviors["*/versions/*"].cache_policy == "${var.name}-${var.environment}-immutable" &&
      output.cdn_cache_behaviors["*/versions/*"].default_ttl == 31536000 &&
      output.cdn_cache_behaviors["*/versions/*"].max_ttl == 31536000 &&
      output.cdn_cache_behaviors["*/versions/*"].min_ttl >= 86400 &&
      output.cdn_cache_behaviors["*/versions/*"].compress == false
    )
    error_message = "versions/ (version.json, manifest.zst: written once) must be cached like the tiles: a year by default, at least a day, uncompressed."
  }

  assert {
    condition = (
      output.cdn_cache_behaviors["*/current.json"].cache_policy == "${var.name}-${var.environment}-pointer" &&
      output.cdn_cache_behaviors["*/current.json"].min_ttl == 0 &&
      output.cdn_cache_behaviors["*/current.json"].max_ttl == 60 &&
      output.cdn_cache_behaviors["*/current.json"].default_ttl == 30
    )
    error_message = "current.json must stay on the pointer policy: 0 / 30 s / 60 s (the example tfvars keep the defaults)."
  }

  assert {
    condition     = output.cdn_cache_behaviors["default"].compress == false && output.cdn_cache_behaviors["default"].allowed_methods == tolist(["GET", "HEAD", "OPTIONS"]) && output.cdn_cache_behaviors["default"].max_ttl == 31536000
    error_message = "The default behaviour (tiles) must stay immutable, uncompressed, GET/HEAD/OPTIONS."
  }
}
