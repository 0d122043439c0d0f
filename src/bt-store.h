/* bt-store.h: the state store (SQLite, WAL)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define BT_TYPE_STORE (bt_store_get_type ())
G_DECLARE_FINAL_TYPE (BtStore, bt_store, BT, STORE, GObject)

typedef void (*BtStoreLoadFunc) (const char *id, const char *app_id, guint64 seq, GVariant *data,
                                 gpointer user_data);

typedef void (*BtStoreObjectFunc) (const char *key, GVariant *data, gpointer user_data);

typedef GVariant *(*BtStoreSerializeFunc) (gpointer object);

/* @error: %NULL once committed */
typedef void (*BtStoreCommittedFunc) (const GError *error, gpointer user_data);

BtStore *bt_store_open (const char *path, GError **error);
void bt_store_load (BtStore *self, BtStoreLoadFunc func, gpointer user_data);
void bt_store_put (BtStore *self, const char *id, const char *app_id, guint64 seq, GVariant *data);
void bt_store_put_progress (BtStore *self, const char *id, const char *app_id, guint64 seq,
                            GVariant *data);
void bt_store_save (BtStore *self, const char *id, const char *app_id, guint64 seq, GObject *object,
                    BtStoreSerializeFunc serialize, gboolean progress);
void bt_store_delete (BtStore *self, const char *id);
GVariant *bt_store_get (BtStore *self, const char *id);
void bt_store_put_object (BtStore *self, const char *key, GVariant *data);
void bt_store_delete_object (BtStore *self, const char *key);
void bt_store_load_objects (BtStore *self, BtStoreObjectFunc func, gpointer user_data);
gboolean bt_store_flush (BtStore *self, GError **error);
void bt_store_when_durable (BtStore *self, GDBusMethodInvocation *invocation, GVariant *reply,
                            GUnixFDList *fd_list);
void bt_store_when_committed (BtStore *self, BtStoreCommittedFunc func, gpointer user_data);

G_END_DECLS
