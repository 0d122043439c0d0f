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
void bt_attempt_stop (BtAttempt *self);
GHashTable *bt_attempt_get_host_load (void);
guint bt_engine_connections_for (BtKind kind, const char *uri);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtAttempt, bt_attempt_unref)

G_END_DECLS
