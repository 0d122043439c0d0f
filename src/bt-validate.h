/* bt-validate.h: checks of what callers hand the service
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define BT_MAX_URI_LENGTH 4096
#define BT_MAX_HEADERS 64
#define BT_MAX_HEADER_VALUE_LENGTH 8192

typedef enum
{
  BT_SCHEME_HTTP,
  BT_SCHEME_HTTPS,
  BT_SCHEME_FTP,
  BT_SCHEME_FTPS,
} BtScheme;

GUri *bt_validate_uri (const char *uri, BtScheme *out_scheme, GError **error);
gboolean bt_validate_header (const char *name, const char *value, GError **error);
gboolean bt_header_is_secret (const char *name);
gboolean bt_validate_destination_path (const char *path, GError **error);

gboolean bt_address_is_local (GInetAddress *address);

G_END_DECLS
