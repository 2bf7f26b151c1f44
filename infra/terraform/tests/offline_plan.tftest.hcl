# Plans the configuration offline: no AWS credentials, no network, no state. Run it with an
# environment's tfvars (see README.md, "Checks"):
#   terraform init -backend=false -plugin-dir=/opt/tf-plugins   (or with registry access)
#   terraform test -var-file=environments/production.tfvars
# It proves that every tfvars file passes the variable validations and preconditions, that the
# whole configuration plans, and that it names the store, region and namespace the Kubernetes
# overlays use; the account id is fixed below. The module's refusals (bad inputs) are tested in
# modules/tileset-store/tests/.

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
