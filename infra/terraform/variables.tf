# Root inputs, set per environment in environments/<env>.tfvars. Values passed on to the
# tileset-store module are checked again there (modules/tileset-store/variables.tf).

variable "environment" {
  description = "Environment: dev, staging or production. Names every resource and selects the GitHub environment."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "production"], var.environment)
    error_message = "environment must be one of dev, staging, production."
  }
}

variable "region" {
  description = "AWS region of the store bucket, its KMS key and the roles' S3 access (AWS_REGION for tilepress)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "allowed_account_ids" {
  description = "AWS account ids this environment may be applied to (the provider refuses any other). [] disables the guard."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.allowed_account_ids : can(regex("^[0-9]{12}$", a))])
    error_message = "allowed_account_ids must be 12-digit AWS account ids."
  }
}

variable "name" {
  description = "Project name, the first part of every resource name."
  type        = string
  default     = "tilepress"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2-21 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "tags" {
  description = "Extra tags on every resource (Project, Environment and ManagedBy are always set)."
  type        = map(string)
  default     = {}
}

variable "bucket_name" {
  description = "Store bucket name (the example tfvars: tilepress-<environment>-tiles, the bucket of the Kubernetes overlays' TILEPRESS_STORE). null: <name>-<environment>-store-<account id>."
  type        = string
  default     = null
}

variable "store_prefix" {
  description = "Key prefix of the store in the bucket (the PREFIX of s3://BUCKET/PREFIX)."
  type        = string
  default     = "tiles"
}

variable "tilesets" {
  description = "Tileset names this environment publishes; each grants the sets NAME and NAME.REGION."
  type        = list(string)

  validation {
    condition     = length(var.tilesets) > 0
    error_message = "tilesets must name at least one tileset."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days replaced or deleted object versions are kept before they expire."
  type        = number
  default     = 30
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which unfinished multipart uploads are aborted."
  type        = number
  default     = 2
}

variable "log_retention_days" {
  description = "Days S3 and CloudFront access logs are kept."
  type        = number
  default     = 365
}

variable "kms_deletion_window_days" {
  description = "Waiting period (7-30 days) before a scheduled deletion of the store key takes effect."
  type        = number
  default     = 30
}

variable "kms_key_admin_arns" {
  description = "IAM roles/users that administer the store key through its key policy (besides the account, which delegates to IAM)."
  type        = list(string)
  default     = []
}

variable "cdn_price_class" {
  description = "CloudFront price class."
  type        = string
  default     = "PriceClass_100"
}

variable "cdn_additional_metrics" {
  description = "CloudFront additional metrics (error rate per status code, cache hit rate, origin latency) for the distribution."
  type        = bool
  default     = true
}

variable "cdn_aliases" {
  description = "Custom domain names of the CDN; need acm_certificate_arn."
  type        = list(string)
  default     = []
}

variable "acm_certificate_arn" {
  description = "ACM certificate (us-east-1) for cdn_aliases. null: *.cloudfront.net certificate."
  type        = string
  default     = null
}

variable "cors_allowed_origins" {
  description = "Origins of the web maps allowed to fetch from the CDN; [\"*\"] for any."
  type        = list(string)
  default     = ["*"]
}

variable "pointer_default_ttl_seconds" {
  description = "CDN TTL of current.json when it carries no Cache-Control."
  type        = number
  default     = 30
}

variable "pointer_max_ttl_seconds" {
  description = "Longest CDN TTL of current.json (how stale a pointer the CDN may serve after a swap)."
  type        = number
  default     = 60
}

variable "immutable_min_ttl_seconds" {
  description = "Minimum CDN TTL of content-addressed objects."
  type        = number
  default     = 86400
}

variable "error_caching_ttl_seconds" {
  description = "CDN caching of 403/404 answers for keys not (yet) present."
  type        = number
  default     = 10
}

variable "geo_restriction_type" {
  description = "CloudFront geo restriction: none, whitelist or blacklist."
  type        = string
  default     = "none"
}

variable "geo_restriction_locations" {
  description = "Country codes for geo_restriction_type whitelist/blacklist."
  type        = list(string)
  default     = []
}

variable "waf_enabled" {
  description = "Attach a WAF web ACL (IP reputation, known bad inputs, per-IP rate limit) to the CDN."
  type        = bool
  default     = true
}

variable "waf_rate_limit_per_5min" {
  description = "Requests per client IP per 5 minutes above which WAF blocks the IP."
  type        = number
  default     = 20000
}

variable "enforce_conditional_pointer_writes" {
  description = "Bucket policy refuses PUTs of current.json / history records without If-Match or If-None-Match."
  type        = bool
  default     = true
}

variable "github_repository" {
  description = "GitHub repository ORG/REPO whose Actions jobs assume the roles through OIDC."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$", var.github_repository))
    error_message = "github_repository must be ORG/REPO."
  }
}

variable "github_environment" {
  description = "GitHub environment allowed to assume the roles. null: the same name as `environment`."
  type        = string
  default     = null
}

variable "create_github_oidc_provider" {
  description = "Create the IAM OIDC provider for token.actions.githubusercontent.com. An account holds one per URL: set true in exactly one stack per account (false where another stack or a landing zone already made it)."
  type        = bool
  default     = false
}

variable "github_oidc_provider_arn" {
  description = "ARN of an existing GitHub OIDC provider when create_github_oidc_provider is false. null: arn:aws:iam::<this account>:oidc-provider/token.actions.githubusercontent.com."
  type        = string
  default     = null
}

variable "eks_oidc_provider_arn" {
  description = "EKS cluster IAM OIDC provider ARN for the CronJobs' service accounts (IRSA, infra/k8s/overlays/<environment>). null: no Kubernetes trust."
  type        = string
  default     = null
}

variable "k8s_namespace" {
  description = "Namespace of the tilepress service accounts, trusted through IRSA. null: tilepress-<environment>, the namespace of infra/k8s/overlays/<environment>."
  type        = string
  default     = null
}

variable "k8s_publisher_service_account" {
  description = "Service account that assumes the publisher role."
  type        = string
  default     = "tilepress"
}

variable "k8s_gc_service_account" {
  description = "Service account that assumes the gc role."
  type        = string
  default     = "tilepress-gc"
}

variable "max_session_duration_seconds" {
  description = "Longest session of the publisher and gc roles (3600-43200)."
  type        = number
  default     = 3600
}

variable "permissions_boundary_arn" {
  description = "Optional permissions boundary for the roles."
  type        = string
  default     = null
}

variable "promotion_source" {
  description = "Store this environment promotes from (production: staging's store): bucket_name, prefix, kms_key_arn. null: none."
  type = object({
    bucket_name = string
    prefix      = string
    kms_key_arn = string
  })
  default = null
}

variable "promotion_reader_role_arns" {
  description = "Roles of other environments allowed to read this store for promotion (staging: production's publisher role)."
  type        = list(string)
  default     = []
}
