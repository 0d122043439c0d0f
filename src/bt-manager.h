/* bt-manager.h: the Manager object, the queue and the service's lifetime
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "bt-transfer.h"
#include "bt-types.h"

G_BEGIN_DECLS

#define BT_MANAGER_PATH "/org/freedesktop/BackgroundTransfer"

#define BT_TYPE_MANAGER (bt_manager_get_type ())
G_DECLARE_FINAL_TYPE (BtManager, bt_manager, BT, MANAGER, GObject)

BtManager *bt_manager_new (GDBusConnection *connection, guint idle_timeout_s, GError **error);
void bt_manager_shutdown (BtManager *self);
BtCallers *bt_manager_get_callers (BtManager *self);

/* Whom a new transfer is for, and under which rules: the Manager's caller,
 * or the app the portal frontend speaks for (bt-portal.c) */
typedef struct
{
  const char *app_id;
  gboolean sandboxed;  /* files by descriptor only; the local-network rule */
  gboolean via_portal; /* the portal frontend hears about it too */
} BtCreator;

/* (transfer floating): the answer to a creation call */
typedef GVariant *(*BtReplyFunc) (BtTransfer *transfer);

void bt_manager_create_transfer (BtManager *self, GDBusMethodInvocation *invocation, BtKind kind,
                                 const BtCreator *creator, const char *uri, GVariant *options,
                                 BtReplyFunc make_reply);
GPtrArray *bt_manager_list_transfers (BtManager *self, const char *app_id, GVariant *filter,
                                      GError **error);
GVariant *bt_manager_get_transfer_properties (BtManager *self, const char *object_path);
BtTransfer *bt_manager_lookup_transfer (BtManager *self, const char *app_id,
                                        const char *object_path, GError **error);

G_END_DECLS
