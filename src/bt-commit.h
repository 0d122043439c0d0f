/* bt-commit.h: finished data made durable, many files at once
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "bt-transfer.h"

G_BEGIN_DECLS

void bt_commit_async (BtTransfer *transfer, GCancellable *cancellable, GAsyncReadyCallback callback,
                      gpointer user_data);
gboolean bt_commit_finish (BtTransfer *transfer, GAsyncResult *result, GError **error);

G_END_DECLS
