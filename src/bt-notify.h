/* bt-notify.h: desktop notifications when a transfer ends
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "bt-transfer.h"

G_BEGIN_DECLS

void bt_notify_transfer_ended (GDBusConnection *connection, BtTransfer *transfer);

G_END_DECLS
