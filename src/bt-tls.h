/* bt-tls.h: the trust the service puts in certificates
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

GTlsDatabase *bt_tls_get_database (void);
void bt_tls_configure (GTlsConnection *connection);

G_END_DECLS
