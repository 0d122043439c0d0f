/* bt-verify.h: checks a finished download against expected digests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _BtDigest BtDigest;

BtDigest *bt_digest_new (GChecksumType type, const char *hex, const char *origin);
void bt_digest_free (BtDigest *digest);
char *bt_digest_to_string (BtDigest *digest);
const char *bt_digest_get_origin (BtDigest *digest);
void bt_digest_set_origin (BtDigest *digest, const char *origin);
BtDigest *bt_digest_parse_option (const char *value, GError **error);
BtDigest *bt_digest_parse_header (const char *header_name, const char *value);

void bt_verify_async (int fd, GPtrArray *digests, GCancellable *cancellable,
                      GAsyncReadyCallback callback, gpointer user_data);
gboolean bt_verify_finish (GAsyncResult *result, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtDigest, bt_digest_free)

G_END_DECLS
