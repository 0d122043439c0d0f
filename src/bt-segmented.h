/* bt-segmented.h: the connections of a segmented download
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "bt-engine.h"

G_BEGIN_DECLS

typedef struct _BtSegmented BtSegmented;

BtSegmented *bt_segmented_new (BtAttempt *attempt, guint wanted);
void bt_segmented_free (BtSegmented *self);
void bt_segmented_start (BtSegmented *self);
void bt_segmented_stop (BtSegmented *self);
void bt_segmented_tick (BtSegmented *self);
void bt_segmented_request_range (BtSegmented *self);
gboolean bt_segmented_retry_without_mirrors (BtSegmented *self);

/* What its connections tell (bt-attempt.c) */
void bt_segmented_connection_answered (BtSegmented *self, BtAttempt *connection);
void bt_segmented_connection_idle (BtSegmented *self, BtAttempt *connection);
void bt_segmented_connection_ended (BtSegmented *self, BtAttempt *connection, BtErrorStatus status,
                                    const char *message, gboolean transient, guint retry_after_s);
gboolean bt_segmented_connection_restart (BtSegmented *self, BtAttempt *connection,
                                          const char *why);

G_END_DECLS
