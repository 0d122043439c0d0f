/* bt-destination.h: where a download's bytes go
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "bt-fd-identity.h"
#include "bt-flusher.h"

G_BEGIN_DECLS

typedef struct _BtDestination BtDestination;

BtDestination *bt_destination_new_for_path (const char *path, gboolean overwrite, GError **error);
void bt_destination_create_async (BtDestination *self, GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean bt_destination_create_finish (GAsyncResult *result, GError **error);
BtDestination *bt_destination_new_for_fd (int fd, GError **error);
BtDestination *bt_destination_new_detached (void);
BtDestination *bt_destination_new_for_fd_record (GVariant *record, GError **error);
GVariant *bt_destination_serialize_fd (BtDestination *self);
BtFdIdentity *bt_destination_get_fd_identity (BtDestination *self);
gboolean bt_destination_can_reopen (BtDestination *self);
BtDestination *bt_destination_new_recovered (const char *path, gboolean overwrite);
void bt_destination_free (BtDestination *self);

gboolean bt_destination_get_overwrite (BtDestination *self);
guint64 bt_destination_recover (BtDestination *self, guint64 checkpoint, gboolean same_boot);
const char *bt_boot_id (void);
gboolean bt_destination_was_committed (BtDestination *self, guint64 size);
gboolean bt_destination_is_in_place (BtDestination *self, guint64 size);
gboolean bt_destination_get_size (BtDestination *self, guint64 *out_size);
gboolean bt_destination_get_part_identity (BtDestination *self, guint64 *out_dev, guint64 *out_ino);
void bt_destination_set_part_identity (BtDestination *self, guint64 dev, guint64 ino);
gboolean bt_destination_part_identity_recorded (BtDestination *self);
gboolean bt_destination_sync (BtDestination *self, GError **error);
int bt_destination_dup_fd (BtDestination *self);

const char *bt_destination_get_path (BtDestination *self);
int bt_destination_open (BtDestination *self, GError **error);
void bt_destination_close (BtDestination *self);
gboolean bt_destination_truncate (BtDestination *self, guint64 size, GError **error);
gboolean bt_destination_write (BtDestination *self, guint64 offset, const void *data, gsize len,
                               GError **error);
BtFlusher *bt_destination_get_flusher (BtDestination *self);
gboolean bt_destination_write_back_lags (BtDestination *self);
gboolean bt_destination_commit (BtDestination *self, guint64 size, GError **error);
gboolean bt_destination_rename (BtDestination *self, GError **error);
const char *bt_destination_get_dir (BtDestination *self);
gboolean bt_destination_sync_dir (const char *dir, GError **error);
void bt_destination_discard (BtDestination *self);
void bt_destination_remove_file (BtDestination *self);
int bt_destination_open_result (BtDestination *self, gboolean completed, GError **error);
void bt_destination_ensure_partial (BtDestination *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtDestination, bt_destination_free)

G_END_DECLS
