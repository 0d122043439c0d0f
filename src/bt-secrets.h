/* bt-secrets.h: credentials and secret headers, kept in the Secret Service
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What a transfer keeps out of the state store */
typedef struct _BtSecrets BtSecrets;

BtSecrets *bt_secrets_new (void);
void bt_secrets_free (BtSecrets *secrets);
gboolean bt_secrets_is_empty (BtSecrets *secrets);
gboolean bt_secrets_get_credential (BtSecrets *secrets, gboolean proxy, const char **out_username,
                                    const char **out_password);
void bt_secrets_set_credential (BtSecrets *secrets, gboolean proxy, const char *username,
                                const char *password);
GPtrArray *bt_secrets_get_headers (BtSecrets *secrets);
GVariant *bt_secrets_serialize (BtSecrets *secrets);
BtSecrets *bt_secrets_deserialize (GVariant *value);

void bt_secrets_store (const char *transfer_id, BtSecrets *secrets);
void bt_secrets_lookup_async (const char *transfer_id, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data);
BtSecrets *bt_secrets_lookup_finish (GAsyncResult *result, GError **error);
void bt_secrets_clear (const char *transfer_id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtSecrets, bt_secrets_free)

G_END_DECLS
