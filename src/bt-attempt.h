/* bt-attempt.h: the core's side of one attempt (see bt-engine.h for the
 * engines' side)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "bt-engine.h"
#include "bt-transfer.h"

G_BEGIN_DECLS

BtAttempt *bt_attempt_start (BtTransfer *transfer, SoupSession *session);
void bt_attempt_begin_now (BtAttempt *self);
void bt_attempt_stop (BtAttempt *self);
GHashTable *bt_attempt_get_host_load (void);
guint bt_attempt_get_host_load_of (const char *host);
guint bt_engine_connections_for (BtKind kind, const char *uri);
void bt_attempt_request_range (BtAttempt *self);

/* A segmented download (bt-segmented.c): its attempt runs connections,
 * each an attempt of its own that writes at its segment's offset */
BtTransfer *bt_attempt_get_transfer (BtAttempt *self);
BtAttempt *bt_attempt_new_connection (BtAttempt *parent, const char *uri, gboolean mirror,
                                      guint64 pos, guint64 end);
guint64 bt_attempt_connection_get_pos (BtAttempt *self);
guint64 bt_attempt_connection_get_end (BtAttempt *self);
void bt_attempt_connection_set_end (BtAttempt *self, guint64 end);
void bt_attempt_connection_set_segment (BtAttempt *self, guint64 pos, guint64 end);
void bt_attempt_connection_move (BtAttempt *self, guint64 pos, guint64 end);
guint bt_attempt_connection_get_status (BtAttempt *self);
guint64 bt_attempt_connection_get_rate (BtAttempt *self);
void bt_attempt_segments_complete (BtAttempt *self);
void bt_attempt_segments_fail (BtAttempt *self, BtErrorStatus status, const char *message,
                               gboolean transient, guint retry_after_s);
gboolean bt_attempt_segments_restart (BtAttempt *self, const char *why);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtAttempt, bt_attempt_unref)

G_END_DECLS
