/* bgt-private.h: what the parts of libbgtransfer share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

#include "bgtransfer.h"

G_BEGIN_DECLS

#define BGT_BUS_NAME "org.freedesktop.BackgroundTransfer"
#define BGT_MANAGER_PATH "/org/freedesktop/BackgroundTransfer"
#define BGT_MANAGER_INTERFACE "org.freedesktop.BackgroundTransfer.Manager"
#define BGT_TRANSFER_INTERFACE "org.freedesktop.BackgroundTransfer.Transfer"
#define BGT_TRANSFER_PATH_PREFIX "/org/freedesktop/BackgroundTransfer/transfer/"
#define BGT_COMPLETION_GROUP_INTERFACE "org.freedesktop.BackgroundTransfer.CompletionGroup"
#define BGT_COMPLETION_GROUP_PATH_PREFIX "/org/freedesktop/BackgroundTransfer/completion_group/"
#define BGT_PROPERTIES_INTERFACE "org.freedesktop.DBus.Properties"
#define BGT_CALL_TIMEOUT_MS 60000

GError *_bgt_error_convert (GError *error);
int _bgt_enum_from_string (GType type, const char *str, int fallback);
const char *_bgt_enum_to_string (GType type, int value);

/* bgt-client.c: calls (through the connection's call queue), the objects
 * that the client's one signal subscription serves, loading transfers */
void _bgt_client_call (BgtClient *self, const char *object_path, const char *interface_name,
                       const char *method_name, GVariant *parameters,
                       const GVariantType *reply_type, GUnixFDList *fd_list,
                       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
GVariant *_bgt_client_call_finish (BgtClient *self, GAsyncResult *result, GUnixFDList **out_fd_list,
                                   GError **error);
void _bgt_client_add_app_id (BgtClient *self, GVariantBuilder *options);
void _bgt_client_register_transfer (BgtClient *self, BgtTransfer *transfer);
void _bgt_client_unregister_transfer (BgtClient *self, BgtTransfer *transfer);
void _bgt_client_register_completion_group (BgtClient *self, BgtCompletionGroup *group);
void _bgt_client_unregister_completion_group (BgtClient *self, BgtCompletionGroup *group);
void _bgt_client_load_transfer_async (BgtClient *self, const char *object_path,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
BgtTransfer *_bgt_client_load_transfer_finish (BgtClient *self, GAsyncResult *result,
                                               GError **error);
void _bgt_client_list_async (BgtClient *self, GVariant *filter, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
GListModel *_bgt_client_list_finish (BgtClient *self, GAsyncResult *result, GError **error);
gboolean _bgt_client_get_instance (BgtClient *self, guint *instance);
void _bgt_client_rebind_async (BgtClient *self, GAsyncReadyCallback callback, gpointer user_data);
gboolean _bgt_client_rebind_finish (BgtClient *self, GAsyncResult *result, GError **error);

/* bgt-transfer.c */
void _bgt_transfer_update (BgtTransfer *self, GVariant *properties);
void _bgt_transfer_update_all (BgtTransfer *self, GVariant *properties);
void _bgt_transfer_handle_signal (BgtTransfer *self, const char *interface_name,
                                  const char *signal_name, GVariant *parameters);
void _bgt_transfer_refresh_all (BgtTransfer *self);
gboolean _bgt_transfer_has_waiters (BgtTransfer *self);
const char *_bgt_transfer_get_location (BgtTransfer *self);
void _bgt_transfer_open_fd_async (BgtTransfer *self, const char *method, gpointer source_tag,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
GInputStream *_bgt_transfer_open_fd_finish (BgtTransfer *self, GAsyncResult *result,
                                            gpointer source_tag, GError **error);

/* bgt-completion-group.c */
BgtCompletionGroup *_bgt_completion_group_new (BgtClient *client, const char *object_path,
                                               GVariant *properties);
void _bgt_completion_group_update (BgtCompletionGroup *self, GVariant *properties);
void _bgt_completion_group_handle_signal (BgtCompletionGroup *self, const char *interface_name,
                                          const char *signal_name, GVariant *parameters);
void _bgt_completion_group_add_member (BgtCompletionGroup *self, const char *transfer_path);

G_END_DECLS
