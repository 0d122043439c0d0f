/* fuzz-options.c: the a{sv} option dictionaries of CreateDownload and
 * CreateUpload, as the service checks them before anything else
 *
 * Input: a serialized a{sv} (what GDBus hands the service; taken in
 * normal form, as GDBus's message parser only produces that). Every
 * option the service parses at creation time goes through its parser:
 * the key and type check, headers, credentials, mirrors, the checksum.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-options.h"
#include "bt-validate.h"
#include "bt-verify.h"
#include "fuzz-common.h"

static void
parse_all (GVariant *options, BtKind kind)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) headers = NULL;
  g_autoptr (GVariant) mirrors = NULL;
  const char *checksum = NULL;
  const char *credentials[] = { "server-credential", "proxy-credential" };

  if (!bt_options_check (options, kind, &error))
    {
      g_assert_nonnull (error);
      return;
    }
  g_assert_no_error (error);

  headers = g_variant_lookup_value (options, "headers", G_VARIANT_TYPE ("a(ss)"));
  if (headers != NULL)
    {
      g_autoptr (GPtrArray) plain = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GPtrArray) secret = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GError) header_error = NULL;

      if (bt_options_parse_headers (headers, plain, secret, &header_error))
        {
          g_assert_cmpuint (plain->len % 2, ==, 0);
          g_assert_cmpuint (secret->len % 2, ==, 0);
          g_assert_cmpuint (plain->len + secret->len, <=, 2 * BT_MAX_HEADERS);
          for (guint i = 0; i < secret->len; i += 2)
            g_assert_true (bt_header_is_secret (secret->pdata[i]));
        }
      else
        g_assert_nonnull (header_error);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (credentials); i++)
    {
      g_autoptr (GVariant) credential
          = g_variant_lookup_value (options, credentials[i], G_VARIANT_TYPE_VARDICT);
      g_autofree char *username = NULL;
      g_autofree char *password = NULL;
      g_autoptr (GError) credential_error = NULL;

      if (credential == NULL)
        continue;
      if (bt_options_parse_credential (credential, credentials[i], &username, &password,
                                       &credential_error))
        g_assert_true (username != NULL && password != NULL);
      else
        g_assert_nonnull (credential_error);
    }

  mirrors = g_variant_lookup_value (options, "mirrors", G_VARIANT_TYPE_STRING_ARRAY);
  if (mirrors != NULL)
    {
      g_autoptr (GError) mirror_error = NULL;
      g_auto (GStrv) uris = bt_options_parse_mirrors (mirrors, &mirror_error);

      g_assert_true ((uris == NULL) == (mirror_error != NULL));
    }

  if (g_variant_lookup (options, "checksum", "&s", &checksum))
    {
      g_autoptr (GError) checksum_error = NULL;
      g_autoptr (BtDigest) digest = bt_digest_parse_option (checksum, &checksum_error);

      g_assert_true ((digest == NULL) == (checksum_error != NULL));
    }
}

int
LLVMFuzzerTestOneInput (const unsigned char *data, size_t size)
{
  g_autoptr (GBytes) bytes = g_bytes_new (data, size);
  g_autoptr (GVariant) untrusted
      = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, bytes, FALSE));
  g_autoptr (GVariant) options = g_variant_get_normal_form (untrusted);

  parse_all (options, BT_KIND_DOWNLOAD);
  parse_all (options, BT_KIND_UPLOAD);
  return 0;
}
