/* bt-verify.h: checks a finished download against expected digests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  GChecksumType type;
  char *hex;    /* lower-case */
  char *origin; /* "the application's checksum", "the server's Repr-Digest" */
} BtDigest;

BtDigest *bt_digest_new (GChecksumType type, const char *hex, const char *origin);
void bt_digest_free (BtDigest *digest);
BtDigest *bt_digest_parse_option (const char *value, GError **error);
BtDigest *bt_digest_parse_header (const char *header_name, const char *value);

void bt_verify_async (int fd, GPtrArray *digests, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data);
gboolean bt_verify_finish (GAsyncResult *result, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtDigest, bt_digest_free)

G_END_DECLS
