# One environment's tileset store: the bucket (store.tf), its KMS key (kms.tf), the log
# bucket (logs.tf), the CDN (cdn.tf, waf.tf) and the publisher / gc roles (iam.tf).
#
# Key layout (DESIGN.md, "The store"): PREFIX/SET/ with SET = NAME or NAME.REGION, holding
#   tiles/ab/<sha256>, archives/<sha256>.{mbtiles,pmtiles}, deltas/<BASE-VERSION>/<sha256>,
#   versions/<VERSION>/{manifest.zst,version.json}
#     immutable, content-addressed: cached for a year
#   current.json        the pointer, swapped with If-Match / If-None-Match: cached seconds
#   history/<gen>.json  one per swap, create-only, never deleted by gc

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  name       = "${var.name}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  bucket_name     = coalesce(var.bucket_name, "${local.name}-store-${local.account_id}")
  log_bucket_name = "${local.name}-logs-${local.account_id}"

  # The key prefixes of every set of every tileset: PREFIX/NAME and PREFIX/NAME.* (regions).
  # Tileset names have no '.', so NAME.* never reaches another tileset's sets.
  set_prefixes = flatten([for t in var.tilesets : ["${var.store_prefix}/${t}", "${var.store_prefix}/${t}.*"]])

  # s3:prefix values of ListObjectsV2 calls (tilepress lists PREFIX/SET/versions/, .../tiles/ …).
  list_prefixes = flatten([for p in local.set_prefixes : ["${p}/", "${p}/*"]])

  promotion_set_prefixes = var.promotion_source == null ? [] : flatten([
    for t in var.tilesets : ["${var.promotion_source.prefix}/${t}", "${var.promotion_source.prefix}/${t}.*"]
  ])
  promotion_list_prefixes = flatten([for p in local.promotion_set_prefixes : ["${p}/", "${p}/*"]])

  s3_service = "s3.${local.region}.amazonaws.com"
}
