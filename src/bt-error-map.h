/* bt-error-map.h: what went wrong, as an ErrorStatus, and whether to retry
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "bt-types.h"

G_BEGIN_DECLS

BtErrorStatus bt_error_status_for_gerror (const GError *error, gboolean *out_transient);
BtErrorStatus bt_error_status_for_http (guint status, gboolean *out_transient);
BtErrorStatus bt_error_status_for_ftp (guint code, gboolean *out_transient);
guint bt_retry_after_parse (const char *value, GDateTime *now);

G_END_DECLS
