/* bt-ftp-reply.h: reading FTP replies
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean bt_ftp_parse_epsv (const char *text, guint16 *out_port);
gboolean bt_ftp_parse_pasv (const char *text, guint16 *out_port);

G_END_DECLS
