/* bgt-transfer-group.h: a named group of an application's transfers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(BGT_INSIDE) && !defined(BGT_COMPILATION)
#error "Only <bgtransfer.h> can be included directly."
#endif

#include <gio/gio.h>

#include "bgt-client.h"
#include "bgt-enums.h"
#include "bgt-version.h"

G_BEGIN_DECLS

#define BGT_TYPE_TRANSFER_GROUP (bgt_transfer_group_get_type ())
BGT_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (BgtTransferGroup, bgt_transfer_group, BGT, TRANSFER_GROUP, GObject)

BGT_AVAILABLE_IN_1_0
BgtTransferGroup *bgt_transfer_group_new (BgtClient *client, const char *name);
BGT_AVAILABLE_IN_1_0
BgtClient *bgt_transfer_group_get_client (BgtTransferGroup *self);
BGT_AVAILABLE_IN_1_0
const char *bgt_transfer_group_get_name (BgtTransferGroup *self);
BGT_AVAILABLE_IN_1_0
BgtTransferBehavior bgt_transfer_group_get_behavior (BgtTransferGroup *self);

BGT_AVAILABLE_IN_1_0
void bgt_transfer_group_set_behavior_async (BgtTransferGroup *self, BgtTransferBehavior behavior,
                                            GCancellable *cancellable, GAsyncReadyCallback callback,
                                            gpointer user_data);
BGT_AVAILABLE_IN_1_0
gboolean bgt_transfer_group_set_behavior_finish (BgtTransferGroup *self, GAsyncResult *result,
                                                 GError **error);
BGT_AVAILABLE_IN_1_0
void bgt_transfer_group_list_transfers_async (BgtTransferGroup *self, GCancellable *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_1_0
GListModel *bgt_transfer_group_list_transfers_finish (BgtTransferGroup *self, GAsyncResult *result,
                                                      GError **error);

G_END_DECLS
