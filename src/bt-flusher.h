/* bt-flusher.h: a download's data on its way to the disk
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _BtFlusher BtFlusher;

BtFlusher *bt_flusher_new (void);
BtFlusher *bt_flusher_ref (BtFlusher *self);
void bt_flusher_unref (BtFlusher *self);

/* The size to leave as it is */
#define BT_FLUSHER_ANY_SIZE G_MAXUINT64

/* Any thread */
int bt_flusher_flush (BtFlusher *self, int fd, guint64 size);
int bt_flusher_get_failure (BtFlusher *self);

/* The main loop: the flush in a worker thread */
void bt_flusher_flush_async (BtFlusher *self, int fd, guint64 size, GAsyncReadyCallback callback,
                             gpointer user_data);
gboolean bt_flusher_flush_finish (GAsyncResult *result, GError **error);

/* The main loop */
void bt_flusher_forget_failure (BtFlusher *self);
void bt_flusher_note_written (BtFlusher *self, int fd, gsize len);
gboolean bt_flusher_lags (BtFlusher *self);
void bt_flusher_fd_closed (BtFlusher *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtFlusher, bt_flusher_unref)

G_END_DECLS
