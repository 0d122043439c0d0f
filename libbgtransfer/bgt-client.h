/* bgt-client.h: the connection to the background transfer service
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(BGT_INSIDE) && !defined(BGT_COMPILATION)
#error "Only <bgtransfer.h> can be included directly."
#endif

#include <gio/gio.h>

#include "bgt-enums.h"
#include "bgt-version.h"

G_BEGIN_DECLS

typedef struct _BgtTransfer BgtTransfer;
typedef struct _BgtCompletionGroup BgtCompletionGroup;

#define BGT_TYPE_CLIENT (bgt_client_get_type ())
BGT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (BgtClient, bgt_client, BGT, CLIENT, GObject)

BGT_AVAILABLE_IN_ALL
void bgt_client_new_async (const char *app_id, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_ALL
BgtClient *bgt_client_new_finish (GAsyncResult *result, GError **error);
BGT_AVAILABLE_IN_ALL
BgtClient *bgt_client_new_sync (const char *app_id, GCancellable *cancellable, GError **error);
BGT_AVAILABLE_IN_ALL
void bgt_client_new_for_connection_async (GDBusConnection *connection, const char *app_id,
                                          GCancellable *cancellable, GAsyncReadyCallback callback,
                                          gpointer user_data);
BGT_AVAILABLE_IN_ALL
BgtClient *bgt_client_new_for_connection_finish (GAsyncResult *result, GError **error);
BGT_AVAILABLE_IN_ALL
BgtClient *bgt_client_new_for_connection_sync (GDBusConnection *connection, const char *app_id,
                                               GCancellable *cancellable, GError **error);

BGT_AVAILABLE_IN_ALL
GDBusConnection *bgt_client_get_connection (BgtClient *self);
BGT_AVAILABLE_IN_ALL
const char *bgt_client_get_app_id (BgtClient *self);
BGT_AVAILABLE_IN_ALL
BgtNetworkState bgt_client_get_network_state (BgtClient *self);
BGT_AVAILABLE_IN_ALL
BgtPowerState bgt_client_get_power_state (BgtClient *self);
BGT_AVAILABLE_IN_1_0
guint bgt_client_get_service_version (BgtClient *self);

BGT_AVAILABLE_IN_ALL
void bgt_client_list_transfers_async (BgtClient *self, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_ALL
GListModel *bgt_client_list_transfers_finish (BgtClient *self, GAsyncResult *result,
                                              GError **error);
BGT_AVAILABLE_IN_1_0
void bgt_client_find_transfers_async (BgtClient *self, const char *group,
                                      const BgtTransferKind *kinds, guint n_kinds,
                                      const BgtStatus *statuses, guint n_statuses,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
BGT_AVAILABLE_IN_1_0
GListModel *bgt_client_find_transfers_finish (BgtClient *self, GAsyncResult *result,
                                              GError **error);
BGT_AVAILABLE_IN_ALL
void bgt_client_get_transfer_async (BgtClient *self, const char *id_or_path,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
BGT_AVAILABLE_IN_ALL
BgtTransfer *bgt_client_get_transfer_finish (BgtClient *self, GAsyncResult *result, GError **error);
BGT_AVAILABLE_IN_ALL
void bgt_client_configure_group_async (BgtClient *self, const char *group,
                                       BgtTransferBehavior behavior, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_ALL
gboolean bgt_client_configure_group_finish (BgtClient *self, GAsyncResult *result, GError **error);
BGT_AVAILABLE_IN_1_0
void bgt_client_create_completion_group_async (BgtClient *self, const char *action,
                                               GCancellable *cancellable,
                                               GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_1_0
BgtCompletionGroup *
bgt_client_create_completion_group_finish (BgtClient *self, GAsyncResult *result, GError **error);
BGT_AVAILABLE_IN_1_0
void bgt_client_get_completion_group_async (BgtClient *self, const char *object_path,
                                            GCancellable *cancellable, GAsyncReadyCallback callback,
                                            gpointer user_data);
BGT_AVAILABLE_IN_1_0
BgtCompletionGroup *bgt_client_get_completion_group_finish (BgtClient *self, GAsyncResult *result,
                                                            GError **error);

G_END_DECLS
