/* bt-localnet.h: keeping sandboxed apps off the local network
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

gboolean bt_connection_may_be_reached (GSocketConnection *connection);
void bt_forbid_local_network (SoupMessage *msg, GCancellable *cancellable, gboolean *denied);

G_END_DECLS
