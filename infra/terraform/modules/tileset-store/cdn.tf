# CloudFront in front of the store. Viewer paths are store keys below PREFIX (the origin path), so the
# base URL of a store on the CDN is https://CDN itself:
#   https://CDN/<SET>/current.json                 the pointer: cached seconds
#   https://CDN/<SET>/versions/<VERSION>/version.json, .../manifest.zst, .../tiles/ab/<sha256>
#                                                  content-addressed: cached a year
#   https://CDN/<SET>/archives/<sha256>.{mbtiles,pmtiles}, .../deltas/<BASE-VERSION>/<sha256>
#                                                  region downloads (`tilepress sync`): content-addressed,
#                                                  large, read with Range requests: cached a year, never
#                                                  compressed, GET/HEAD only
# Cache behaviour follows DESIGN.md: tilepress writes immutable objects with
# `Cache-Control: public, max-age=31536000, immutable` and current.json with a short max-age; the
# cache policies honour those headers within their bounds.

resource "aws_cloudfront_origin_access_control" "store" {
  name                              = "${local.name}-store"
  description                       = "Signs CloudFront requests to ${local.bucket_name} (SigV4, always)."
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

# Tiles, archives, manifests, version and history records: their keys name their content, so
# they never change. Query strings, cookies and headers are not part of the key (one cache entry
# per object). Accept-Encoding is not either: MVT tiles are stored gzipped (Content-Encoding:
# gzip) and served as they are, PNG tiles and zstd manifests are already compressed.
resource "aws_cloudfront_cache_policy" "immutable" {
  name        = "${local.name}-immutable"
  comment     = "tilepress content-addressed objects: honour max-age=31536000, at least immutable_min_ttl_seconds."
  min_ttl     = var.immutable_min_ttl_seconds
  default_ttl = 31536000
  max_ttl     = 31536000

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_gzip   = false
    enable_accept_encoding_brotli = false
    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

# Region downloads: full archives (archives/<sha256>.mbtiles|.pmtiles) and delta packages
# (deltas/<base-version>/<sha256>). Their keys name their content, so every TTL bound is a year: no
# Cache-Control on the object (or a missing one) can make the edge fetch a multi-GB archive again.
# Nothing from the viewer is in the cache key. Accept-Encoding is not either, and the behaviours using
# this policy have compress = false: the archives and deltas are compressed already, and an edge that
# compressed a response would change its bytes and length, so that byte ranges of the stored object
# (the `Range: bytes=N-` of a resumed download) would no longer line up.
resource "aws_cloudfront_cache_policy" "downloads" {
  name        = "${local.name}-downloads"
  comment     = "tilepress archives/ and deltas/: immutable, a year at the edge whatever the object's headers."
  min_ttl     = 31536000
  default_ttl = 31536000
  max_ttl     = 31536000

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_gzip   = false
    enable_accept_encoding_brotli = false
    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

# current.json: the only mutable object. The origin's Cache-Control (max-age=30 from tilepress)
# decides within [0, pointer_max_ttl_seconds], so a swap or rollback reaches every reader within
# a minute without an invalidation.
resource "aws_cloudfront_cache_policy" "pointer" {
  name        = "${local.name}-pointer"
  comment     = "tilepress current.json: short TTL, origin Cache-Control respected up to pointer_max_ttl_seconds."
  min_ttl     = 0
  default_ttl = min(var.pointer_default_ttl_seconds, var.pointer_max_ttl_seconds)
  max_ttl     = var.pointer_max_ttl_seconds

  parameters_in_cache_key_and_forwarded_to_origin {
    # A small JSON document: let the edge compress it.
    enable_accept_encoding_gzip   = true
    enable_accept_encoding_brotli = true
    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

# Forwards only what the bucket needs to answer CORS preflights; none of it is in the cache key.
resource "aws_cloudfront_origin_request_policy" "cors" {
  name    = "${local.name}-cors"
  comment = "Forward Origin and Access-Control-Request-* so the bucket's CORS rules answer preflights."

  cookies_config {
    cookie_behavior = "none"
  }
  headers_config {
    header_behavior = "whitelist"
    headers {
      items = ["Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"]
    }
  }
  query_strings_config {
    query_string_behavior = "none"
  }
}

# CORS for web maps (MapLibre/OpenLayers/Leaflet fetch tiles and JSON cross-origin) plus the
# usual security headers.
resource "aws_cloudfront_response_headers_policy" "tiles" {
  #checkov:skip=CKV_AWS_259:HSTS is sent (2 years, includeSubDomains, override) but without "preload": preloading is a commitment of the whole registrable domain, only honoured when served from its apex, and not a tile CDN's (or cloudfront.net's) to make.
  name    = "${local.name}-tiles"
  comment = "CORS for web maps and security headers on every tilepress CDN response."

  cors_config {
    access_control_allow_credentials = false
    origin_override                  = true
    access_control_max_age_sec       = 3600

    access_control_allow_headers {
      items = ["*"]
    }
    access_control_allow_methods {
      items = ["GET", "HEAD", "OPTIONS"]
    }
    access_control_allow_origins {
      items = var.cors_allowed_origins
    }
    access_control_expose_headers {
      items = ["ETag", "Content-Length", "Content-Encoding"]
    }
  }

  security_headers_config {
    strict_transport_security {
      access_control_max_age_sec = 63072000
      include_subdomains         = true
      preload                    = false
      override                   = true
    }
    content_type_options {
      override = true
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
  }
}

# The ordered cache behaviours of the distribution, in order (the first match wins; everything else, the
# tiles, takes the default behaviour: immutable policy, uncompressed, GET/HEAD/OPTIONS). Output
# `cdn_cache_behaviors` shows them with their TTLs; tests/ assert them.
locals {
  cdn_behaviors = [
    # The pointer of every set: PREFIX/<SET>/current.json at the origin. A small JSON document: the edge
    # may compress it.
    {
      path_pattern    = "*/current.json"
      cache_policy    = "pointer"
      compress        = true
      allowed_methods = ["GET", "HEAD", "OPTIONS"]
    },
    # Region downloads (`tilepress sync`): full archives and delta packages of every set. Cached a year
    # whatever the object says, never compressed (byte ranges must be the stored object's), GET and HEAD
    # only. A resumed download's `If-Range: <ETag>` can only match: the object under a content-addressed
    # key never changes, so neither does its ETag. No preflight (OPTIONS) is answered on these paths:
    # `tilepress sync` sends none, and a browser sends none for a plain `Range: bytes=N-M` either.
    # (A tileset named `archives` or `deltas` would have its tiles matched here too; they would still be
    # served correctly, as immutable objects.)
    {
      path_pattern    = "*/archives/*"
      cache_policy    = "downloads"
      compress        = false
      allowed_methods = ["GET", "HEAD"]
    },
    {
      path_pattern    = "*/deltas/*"
      cache_policy    = "downloads"
      compress        = false
      allowed_methods = ["GET", "HEAD"]
    },
    # Version records and manifests (versions/<VERSION>/version.json, manifest.zst): written once, cached
    # like the tiles (a day to a year). Not compressed at the edge: manifest.zst is zstd already and
    # version.json is a few hundred bytes.
    {
      path_pattern    = "*/versions/*"
      cache_policy    = "immutable"
      compress        = false
      allowed_methods = ["GET", "HEAD", "OPTIONS"]
    },
  ]

  cdn_cache_policies = {
    pointer   = aws_cloudfront_cache_policy.pointer
    downloads = aws_cloudfront_cache_policy.downloads
    immutable = aws_cloudfront_cache_policy.immutable
  }
}

resource "aws_cloudfront_distribution" "cdn" {
  #checkov:skip=CKV_AWS_305:No default root object on purpose: the CDN serves store keys, there is no index page, and "/" maps to the key PREFIX/ which does not exist (403). CloudFront has no s3:ListBucket, so no path can produce a listing.
  #checkov:skip=CKV_AWS_310:No origin failover: the store lives in one bucket in one region (see CKV_AWS_144 on the bucket); a failover origin would need a replica that is not kept.
  #checkov:skip=CKV_AWS_374:Geo restriction is a variable (geo_restriction_type, default "none"): public map tiles are meant for a worldwide audience; set a whitelist/blacklist per environment if licensing requires it.
  #checkov:skip=CKV2_AWS_47:The web ACL (waf.tf) has the Log4j rules (AWSManagedRulesKnownBadInputsRuleSet); this check also demands AWSManagedRulesAnonymousIpList, which would block VPN, Tor and cloud-hosted users of public map tiles, so it is left out on purpose.
  enabled             = true
  comment             = "${local.name} tileset store (${local.bucket_name}/${var.store_prefix})"
  is_ipv6_enabled     = true
  http_version        = "http2and3"
  price_class         = var.cdn_price_class
  aliases             = var.cdn_aliases
  web_acl_id          = var.waf_enabled ? aws_wafv2_web_acl.cdn[0].arn : null
  wait_for_deployment = true

  origin {
    origin_id                = "store"
    domain_name              = aws_s3_bucket.store.bucket_regional_domain_name
    origin_path              = "/${var.store_prefix}"
    origin_access_control_id = aws_cloudfront_origin_access_control.store.id
  }

  # Everything but the pointer: content-addressed, immutable.
  default_cache_behavior {
    target_origin_id           = "store"
    viewer_protocol_policy     = "https-only"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = false
    cache_policy_id            = aws_cloudfront_cache_policy.immutable.id
    origin_request_policy_id   = aws_cloudfront_origin_request_policy.cors.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.tiles.id
  }

  # The pointer, the region downloads and the version records (local.cdn_behaviors, below); the first
  # pattern that matches wins. Range requests need no setting on any of them: CloudFront serves a Range
  # GET from the cached object (or the cached part of it), and on a miss forwards it to S3, which
  # supports ranges, possibly widened, caching what comes back.
  dynamic "ordered_cache_behavior" {
    for_each = local.cdn_behaviors
    content {
      path_pattern           = ordered_cache_behavior.value.path_pattern
      target_origin_id       = "store"
      viewer_protocol_policy = "https-only"
      allowed_methods        = ordered_cache_behavior.value.allowed_methods
      cached_methods         = ["GET", "HEAD"]
      compress               = ordered_cache_behavior.value.compress
      cache_policy_id        = local.cdn_cache_policies[ordered_cache_behavior.value.cache_policy].id
      # Preflights (OPTIONS) are answered by the bucket's CORS rules: forward what they need where
      # OPTIONS is allowed.
      origin_request_policy_id   = contains(ordered_cache_behavior.value.allowed_methods, "OPTIONS") ? aws_cloudfront_origin_request_policy.cors.id : null
      response_headers_policy_id = aws_cloudfront_response_headers_policy.tiles.id
    }
  }

  # A key that is not there (yet): S3 answers 403 (CloudFront has no ListBucket). Cache that
  # only briefly, so a first publish is visible at once.
  custom_error_response {
    error_code            = 403
    error_caching_min_ttl = var.error_caching_ttl_seconds
  }
  custom_error_response {
    error_code            = 404
    error_caching_min_ttl = var.error_caching_ttl_seconds
  }

  # Standard logs of every request, downloads included (path, status, sc-bytes, range, edge result):
  # the per-set and per-path breakdown that CloudWatch's distribution-wide metrics lack
  # (docs/infra/runbooks.md, "CDN download errors").
  logging_config {
    bucket          = aws_s3_bucket.logs.bucket_domain_name
    prefix          = "cdn/"
    include_cookies = false
  }

  restrictions {
    geo_restriction {
      restriction_type = var.geo_restriction_type
      locations        = var.geo_restriction_type == "none" ? [] : var.geo_restriction_locations
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = var.acm_certificate_arn == null
    acm_certificate_arn            = var.acm_certificate_arn
    ssl_support_method             = var.acm_certificate_arn == null ? null : "sni-only"
    minimum_protocol_version       = var.acm_certificate_arn == null ? "TLSv1" : "TLSv1.2_2021"
  }

  lifecycle {
    precondition {
      condition     = length(var.cdn_aliases) == 0 || var.acm_certificate_arn != null
      error_message = "cdn_aliases need acm_certificate_arn (an ACM certificate in us-east-1 covering them)."
    }
    precondition {
      condition     = var.geo_restriction_type == "none" || length(var.geo_restriction_locations) > 0
      error_message = "geo_restriction_type whitelist/blacklist needs geo_restriction_locations."
    }
  }

  depends_on = [aws_s3_bucket_ownership_controls.logs, aws_s3_bucket_policy.logs]
}

# CloudFront's additional CloudWatch metrics for this distribution: error rates by status (401, 403, 404,
# 502, 503, 504), cache hit rate and origin latency, beside the default Requests, BytesDownloaded and
# 4xx/5xx error rates. They tell apart the causes of TilepressCdn*ErrorRate* alerts (403: a key missing or
# KMS/OAC denied; 502/504: S3 unreachable or slow) and show whether a bytes spike reached the origin.
# Billed as CloudWatch custom metrics; cdn_additional_metrics = false turns them off.
resource "aws_cloudfront_monitoring_subscription" "cdn" {
  count           = var.cdn_additional_metrics ? 1 : 0
  distribution_id = aws_cloudfront_distribution.cdn.id

  monitoring_subscription {
    realtime_metrics_subscription_config {
      realtime_metrics_subscription_status = "Enabled"
    }
  }
}
