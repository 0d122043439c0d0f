/* bt-verify.c: checks a finished download against expected digests
 *
 * The app's "checksum" option and a server's RFC 9530 digest fields are
 * checked by reading the partial file once, in a worker thread, before it
 * is renamed into place.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bt-error.h"
#include "bt-verify.h"

#define VERIFY_BUFFER_SIZE (1024 * 1024)

struct _BtDigest
{
  GChecksumType type;
  char *hex;    /* lower-case */
  char *origin; /* "the application's checksum", "the server's Repr-Digest" */
};

BtDigest *
bt_digest_new (GChecksumType type, const char *hex, const char *origin)
{
  BtDigest *digest = g_new0 (BtDigest, 1);

  digest->type = type;
  digest->hex = g_ascii_strdown (hex, -1);
  digest->origin = g_strdup (origin);
  return digest;
}

void
bt_digest_free (BtDigest *digest)
{
  if (digest == NULL)
    return;
  g_free (digest->hex);
  g_free (digest->origin);
  g_free (digest);
}

static gboolean
is_hex (const char *s, gsize len)
{
  if (strlen (s) != len)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      if (!g_ascii_isxdigit (s[i]))
        return FALSE;
    }
  return TRUE;
}

/* "sha256:<64 hex>" or "sha512:<128 hex>" */
BtDigest *
bt_digest_parse_option (const char *value, GError **error)
{
  if (g_ascii_strncasecmp (value, "sha256:", 7) == 0 && is_hex (value + 7, 64))
    return bt_digest_new (G_CHECKSUM_SHA256, value + 7, "the expected checksum");
  if (g_ascii_strncasecmp (value, "sha512:", 7) == 0 && is_hex (value + 7, 128))
    return bt_digest_new (G_CHECKSUM_SHA512, value + 7, "the expected checksum");

  g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "Invalid checksum: use sha256:<64 hex digits> or sha512:<128 hex digits>");
  return NULL;
}

/* RFC 9530: a dictionary such as "sha-256=:BASE64:, sha-512=:BASE64:".
 * The strongest known algorithm wins; unknown ones are ignored. */
BtDigest *
bt_digest_parse_header (const char *header_name, const char *value)
{
  g_auto (GStrv) members = g_strsplit (value, ",", -1);
  BtDigest *best = NULL;

  for (guint i = 0; members[i] != NULL; i++)
    {
      g_autofree char *member = g_strstrip (g_strdup (members[i]));
      g_autofree guchar *raw = NULL;
      g_autofree char *hex = NULL;
      g_autofree char *origin = NULL;
      GChecksumType type;
      gsize expected_len, raw_len;
      char *b64, *end;

      if (g_ascii_strncasecmp (member, "sha-256=:", 9) == 0)
        type = G_CHECKSUM_SHA256, expected_len = 32;
      else if (g_ascii_strncasecmp (member, "sha-512=:", 9) == 0)
        type = G_CHECKSUM_SHA512, expected_len = 64;
      else
        continue;
      if (best != NULL && best->type == G_CHECKSUM_SHA512)
        continue;

      b64 = member + 9;
      end = strchr (b64, ':');
      if (end == NULL)
        continue;
      *end = '\0';
      raw = g_base64_decode (b64, &raw_len);
      if (raw_len != expected_len)
        continue;

      hex = g_malloc (raw_len * 2 + 1);
      for (gsize j = 0; j < raw_len; j++)
        g_snprintf (hex + j * 2, 3, "%02x", raw[j]);
      origin = g_strdup_printf ("the server's %s", header_name);
      bt_digest_free (best);
      best = bt_digest_new (type, hex, origin);
    }
  return best;
}

typedef struct
{
  int fd;
  GPtrArray *digests;
} VerifyData;

static void
verify_data_free (VerifyData *data)
{
  if (data->fd >= 0)
    close (data->fd);
  g_ptr_array_unref (data->digests);
  g_free (data);
}

static void
verify_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  VerifyData *data = task_data;
  g_autoptr (GPtrArray) checksums
      = g_ptr_array_new_with_free_func ((GDestroyNotify) g_checksum_free);
  g_autofree guint8 *buffer = g_malloc (VERIFY_BUFFER_SIZE);
  off_t offset = 0;

  for (guint i = 0; i < data->digests->len; i++)
    g_ptr_array_add (checksums,
                     g_checksum_new (((BtDigest *) g_ptr_array_index (data->digests, i))->type));

  for (;;)
    {
      ssize_t n = pread (data->fd, buffer, VERIFY_BUFFER_SIZE, offset);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int errsv = errno;

          g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (errsv),
                                   "Cannot read the download back: %s", g_strerror (errsv));
          return;
        }
      if (n == 0)
        break;
      for (guint i = 0; i < checksums->len; i++)
        g_checksum_update (g_ptr_array_index (checksums, i), buffer, (gsize) n);
      offset += n;
      if (g_task_return_error_if_cancelled (task))
        return;
    }

  for (guint i = 0; i < data->digests->len; i++)
    {
      BtDigest *digest = g_ptr_array_index (data->digests, i);
      const char *actual = g_checksum_get_string (g_ptr_array_index (checksums, i));

      if (!g_str_equal (actual, digest->hex))
        {
          g_task_return_new_error (task, BT_ERROR, BT_ERROR_FAILED, "The data does not match %s",
                                   digest->origin);
          return;
        }
    }
  g_task_return_boolean (task, TRUE);
}

/*
 * bt_verify_async:
 * @fd: (transfer full): a readable fd of the data
 * @digests: (element-type BtDigest): what the data must match
 */
void
bt_verify_async (int fd, GPtrArray *digests, GCancellable *cancellable,
                 GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  VerifyData *data = g_new0 (VerifyData, 1);

  data->fd = fd;
  data->digests = g_ptr_array_ref (digests);
  g_task_set_source_tag (task, bt_verify_async);
  g_task_set_task_data (task, data, (GDestroyNotify) verify_data_free);
  g_task_run_in_thread (task, verify_thread);
}

gboolean
bt_verify_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == bt_verify_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Returns: (transfer full): "sha256:<hex>" or "sha512:<hex>", as the option */
char *
bt_digest_to_string (BtDigest *digest)
{
  return g_strdup_printf ("%s:%s", digest->type == G_CHECKSUM_SHA512 ? "sha512" : "sha256",
                          digest->hex);
}

/* Returns: (nullable): who gave it: "the application's checksum", … */
const char *
bt_digest_get_origin (BtDigest *digest)
{
  return digest->origin;
}

void
bt_digest_set_origin (BtDigest *digest, const char *origin)
{
  g_free (digest->origin);
  digest->origin = g_strdup (origin);
}
