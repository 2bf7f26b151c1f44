# Two roles per environment, assumed without static keys (GitHub Actions OIDC, optionally EKS IRSA):
#
#   publisher  publish, rollback, verify, versions (and promote in production): read and write
#              the environment's tileset sets, swap current.json (a conditional PutObject), list
#              its own prefixes, multipart uploads. It can never delete.
#   gc         `tilepress gc`: read and list the same sets, delete tiles/, archives/, deltas/
#              and versions/ objects, write each set's gc lease (gc.lock, which publishers wait
#              for before a swap) and its fences (current.json swapped to the same version, and
#              that generation's history record). It can write nothing else, and never delete
#              current.json or history/.
#
# Neither may delete an object version: deletes leave delete markers and the noncurrent
# versions stay recoverable until the lifecycle rule expires them.
#
# Promotion (`tilepress promote NAME --from s3://staging/PREFIX --to s3://production/PREFIX`) is one
# process with one set of credentials that reads staging and writes production. It therefore runs
# as production's publisher, which gets read-only access to staging's tilesets (promotion_source).
# A separate promoter role would need production write access too, i.e. be a second publisher with
# extra rights to audit; granting the publisher read on staging adds nothing that can change staging.

locals {
  github_subject = "repo:${var.github_repository}:environment:${var.github_environment}"
  eks_issuer     = var.eks_oidc_provider_arn == null ? "" : element(split("oidc-provider/", var.eks_oidc_provider_arn), 1)

  role_service_accounts = {
    publisher = var.k8s_publisher_service_account
    gc        = var.k8s_gc_service_account
  }

  set_object_arns = [for p in local.set_prefixes : "${aws_s3_bucket.store.arn}/${p}/*"]
  gc_lease_arns   = [for p in local.set_prefixes : "${aws_s3_bucket.store.arn}/${p}/gc.lock"]
  # gc's fences (docs/store-protocol.md): a conditional swap of current.json to the same version one
  # generation on (and with `previous` cleared before gc removes that version), plus the create-only
  # history record of that generation.
  gc_write_arns = concat(local.gc_lease_arns, flatten([
    for p in local.set_prefixes : [
      "${aws_s3_bucket.store.arn}/${p}/current.json",
      "${aws_s3_bucket.store.arn}/${p}/history/*",
    ]
  ]))
  gc_delete_arns = flatten([
    for p in local.set_prefixes : [
      "${aws_s3_bucket.store.arn}/${p}/tiles/*",
      "${aws_s3_bucket.store.arn}/${p}/archives/*",
      "${aws_s3_bucket.store.arn}/${p}/deltas/*",
      "${aws_s3_bucket.store.arn}/${p}/versions/*",
    ]
  ])

  promotion_bucket_arn = var.promotion_source == null ? "" : "arn:${local.partition}:s3:::${var.promotion_source.bucket_name}"
  promotion_region     = var.promotion_source == null ? "" : element(split(":", var.promotion_source.kms_key_arn), 3)
}

# --- trust --------------------------------------------------------------------------------------

data "aws_iam_policy_document" "trust" {
  for_each = local.role_service_accounts

  statement {
    sid     = "GitHubActionsEnvironment"
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.github_oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }
    # Only jobs that run in this repository's GitHub environment (with its protection rules:
    # required reviewers, branch restrictions) get a token with this subject.
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = [local.github_subject]
    }
  }

  dynamic "statement" {
    for_each = var.eks_oidc_provider_arn == null ? [] : [each.value]
    content {
      sid     = "KubernetesServiceAccount"
      actions = ["sts:AssumeRoleWithWebIdentity"]
      principals {
        type        = "Federated"
        identifiers = [var.eks_oidc_provider_arn]
      }
      condition {
        test     = "StringEquals"
        variable = "${local.eks_issuer}:aud"
        values   = ["sts.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "${local.eks_issuer}:sub"
        values   = ["system:serviceaccount:${var.k8s_namespace}:${statement.value}"]
      }
    }
  }
}

resource "aws_iam_role" "publisher" {
  name                 = "${local.name}-publisher"
  description          = "tilepress ${var.environment}: publish/rollback/verify/promote into s3://${local.bucket_name}/${var.store_prefix} (no deletes)."
  assume_role_policy   = data.aws_iam_policy_document.trust["publisher"].json
  max_session_duration = var.max_session_duration_seconds
  permissions_boundary = var.permissions_boundary_arn
}

resource "aws_iam_role" "gc" {
  name                 = "${local.name}-gc"
  description          = "tilepress ${var.environment}: gc of s3://${local.bucket_name}/${var.store_prefix} (read, list, delete unreferenced objects)."
  assume_role_policy   = data.aws_iam_policy_document.trust["gc"].json
  max_session_duration = var.max_session_duration_seconds
  permissions_boundary = var.permissions_boundary_arn
}

# --- shared statements ----------------------------------------------------------------------------

# ListObjectsV2 only below the sets' own prefixes. "IfExists": S3 also consults s3:ListBucket to
# decide whether a GET/HEAD of a missing key is a 404 or a 403, and that check is no listing with a
# prefix; tilepress relies on the 404 (HEAD before every tile upload, GET of a missing
# current.json). The price: a list call with no prefix at all passes too (key names, no content).
data "aws_iam_policy_document" "read_sets" {
  statement {
    sid       = "ListOwnSets"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.store.arn]
    condition {
      test     = "StringLikeIfExists"
      variable = "s3:prefix"
      values   = local.list_prefixes
    }
  }

  # GetObject also covers HeadObject.
  statement {
    sid       = "ReadOwnSets"
    actions   = ["s3:GetObject"]
    resources = local.set_object_arns
  }

  statement {
    sid       = "DecryptWithTheStoreKeyThroughS3"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.store.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_service]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:s3:arn"
      values   = [aws_s3_bucket.store.arn]
    }
  }

  statement {
    sid       = "NeverDeleteObjectVersions"
    effect    = "Deny"
    actions   = ["s3:DeleteObjectVersion"]
    resources = ["${aws_s3_bucket.store.arn}/*"]
  }
}

# Writing any object (SSE-KMS) needs a data key from the store key, through S3 and for this bucket only;
# multipart uploads also decrypt it for each part. Both roles write: the publisher its sets, gc its lease.
data "aws_iam_policy_document" "encrypt_through_s3" {
  statement {
    sid       = "EncryptWithTheStoreKeyThroughS3"
    actions   = ["kms:GenerateDataKey"]
    resources = [aws_kms_key.store.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [local.s3_service]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:s3:arn"
      values   = [aws_s3_bucket.store.arn]
    }
  }
}

# --- publisher ------------------------------------------------------------------------------------

data "aws_iam_policy_document" "publisher" {
  source_policy_documents = [
    data.aws_iam_policy_document.read_sets.json,
    data.aws_iam_policy_document.encrypt_through_s3.json,
  ]

  # PutObject is the upload of tiles, archives, manifests and records, and also the pointer swap:
  # S3's compare-and-swap is a PutObject with If-Match / If-None-Match (no separate permission).
  # Archives above one part go up as multipart uploads: CreateMultipartUpload, UploadPart and
  # CompleteMultipartUpload are authorised by s3:PutObject; an abort needs AbortMultipartUpload.
  statement {
    sid = "WriteOwnSets"
    actions = [
      "s3:PutObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = local.set_object_arns
  }

  statement {
    sid       = "PublisherNeverDeletes"
    effect    = "Deny"
    actions   = ["s3:DeleteObject"]
    resources = ["${aws_s3_bucket.store.arn}/*"]
  }

  # Promotion: read-only on the source store's tilesets (same tileset names).
  dynamic "statement" {
    for_each = var.promotion_source == null ? [] : [1]
    content {
      sid       = "PromotionListSourceSets"
      actions   = ["s3:ListBucket"]
      resources = [local.promotion_bucket_arn]
      condition {
        test     = "StringLikeIfExists"
        variable = "s3:prefix"
        values   = local.promotion_list_prefixes
      }
    }
  }

  dynamic "statement" {
    for_each = var.promotion_source == null ? [] : [1]
    content {
      sid       = "PromotionReadSourceSets"
      actions   = ["s3:GetObject"]
      resources = [for p in local.promotion_set_prefixes : "${local.promotion_bucket_arn}/${p}/*"]
    }
  }

  dynamic "statement" {
    for_each = var.promotion_source == null ? [] : [1]
    content {
      sid       = "PromotionDecryptSourceThroughS3"
      actions   = ["kms:Decrypt"]
      resources = [var.promotion_source.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.promotion_region}.amazonaws.com"]
      }
      condition {
        test     = "StringEquals"
        variable = "kms:EncryptionContext:aws:s3:arn"
        values   = [local.promotion_bucket_arn]
      }
    }
  }
}

resource "aws_iam_role_policy" "publisher" {
  name   = "tileset-store-publisher"
  role   = aws_iam_role.publisher.id
  policy = data.aws_iam_policy_document.publisher.json
}

# --- gc -------------------------------------------------------------------------------------------

data "aws_iam_policy_document" "gc" {
  source_policy_documents = [
    data.aws_iam_policy_document.read_sets.json,
    data.aws_iam_policy_document.encrypt_through_s3.json,
  ]

  # Exactly what `tilepress gc` removes: unreferenced tiles, archives and deltas, and the manifest
  # and record of versions no longer kept. Not current.json, not history/.
  statement {
    sid       = "DeleteUnreferencedObjects"
    actions   = ["s3:DeleteObject"]
    resources = local.gc_delete_arns
  }

  # The lease (taken with a conditional PutObject, renewed and released by gc itself) and the
  # fences: gc swaps current.json to the same version before it marks, so that no swap prepared
  # before its lease can land, and writes that generation's history record.
  statement {
    sid       = "WriteGcLeaseAndFences"
    actions   = ["s3:PutObject"]
    resources = local.gc_write_arns
  }

  statement {
    sid           = "GcWritesNothingElse"
    effect        = "Deny"
    actions       = ["s3:PutObject"]
    not_resources = local.gc_write_arns
  }
}

resource "aws_iam_role_policy" "gc" {
  name   = "tileset-store-gc"
  role   = aws_iam_role.gc.id
  policy = data.aws_iam_policy_document.gc.json
}
