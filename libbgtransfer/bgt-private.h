/* bgt-private.h: what the parts of libbgtransfer share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "bgtransfer.h"

G_BEGIN_DECLS

#define BGT_BUS_NAME "org.freedesktop.BackgroundTransfer"
#define BGT_MANAGER_PATH "/org/freedesktop/BackgroundTransfer"
#define BGT_MANAGER_INTERFACE "org.freedesktop.BackgroundTransfer.Manager"
#define BGT_TRANSFER_INTERFACE "org.freedesktop.BackgroundTransfer.Transfer"
#define BGT_TRANSFER_PATH_PREFIX "/org/freedesktop/BackgroundTransfer/transfer/"
#define BGT_CALL_TIMEOUT_MS 60000

GError *_bgt_error_convert (GError *error);
int _bgt_enum_from_string (GType type, const char *str, int fallback);
const char *_bgt_enum_to_string (GType type, int value);

void _bgt_client_call (BgtClient *self, const char *method, GVariant *options_tuple,
                       GUnixFDList *fd_list, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data);
GVariant *_bgt_client_call_finish (BgtClient *self, GAsyncResult *result, GError **error);
void _bgt_client_add_app_id (BgtClient *self, GVariantBuilder *options);
void _bgt_client_load_transfer_async (BgtClient *self, const char *object_path,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
BgtTransfer *_bgt_client_load_transfer_finish (BgtClient *self, GAsyncResult *result,
                                               GError **error);

void _bgt_transfer_update (BgtTransfer *self, GVariant *properties);
void _bgt_transfer_refresh_all (BgtTransfer *self);
gboolean _bgt_transfer_has_waiters (BgtTransfer *self);
void _bgt_client_rebind_async (BgtClient *self, GAsyncReadyCallback callback, gpointer user_data);
gboolean _bgt_client_rebind_finish (BgtClient *self, GAsyncResult *result, GError **error);
const char *_bgt_transfer_get_location (BgtTransfer *self);

G_END_DECLS
