# dev: a playground store. Replace the account id and repository with yours.
environment         = "dev"
region              = "eu-west-1"
allowed_account_ids = ["111111111111"]

# The store: s3://tilepress-dev-tiles/tiles (TILEPRESS_STORE of infra/k8s/overlays/dev and of the GitHub
# environment dev). Bucket names are global: pick your own, and change the overlay with it.
bucket_name  = "tilepress-dev-tiles"
tilesets     = ["default", "monaco"]
store_prefix = "tiles"

# Short undo window and log retention: nothing here must be kept.
noncurrent_version_expiration_days = 7
log_retention_days                 = 30

# WAF costs a fixed monthly fee per web ACL and rule; dev is not worth protecting from scrapers.
waf_enabled = false
# CloudFront's additional metrics are billed per distribution; dev's CDN is not watched that closely.
cdn_additional_metrics = false

github_repository = "example-org/tilepress"
# One GitHub OIDC provider per account: this account has none yet (one account per environment).
create_github_oidc_provider = true

# The CronJobs of infra/k8s/overlays/dev (IRSA): the roles trust the ServiceAccounts tilepress (publisher)
# and tilepress-gc (gc) in the overlay's namespace. Replace the provider with your cluster's
# (`arn:aws:iam::ACCOUNT:oidc-provider/` + the issuer of `aws eks describe-cluster`, without https://).
eks_oidc_provider_arn         = "arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE0123456789"
k8s_namespace                 = "tilepress-dev"
k8s_publisher_service_account = "tilepress"
k8s_gc_service_account        = "tilepress-gc"
