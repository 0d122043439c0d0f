/* bt-ftp.h: FTP and explicit FTPS downloads on GIO sockets
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "bt-transfer.h"

G_BEGIN_DECLS

BtJob *bt_ftp_job_start (BtTransfer *transfer, GSettings *settings);

/* Exposed for the unit tests */
gboolean bt_ftp_parse_epsv (const char *text, guint16 *out_port);
gboolean bt_ftp_parse_pasv (const char *text, guint16 *out_port);

G_END_DECLS
