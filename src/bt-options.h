/* bt-options.h: the options of CreateDownload and CreateUpload
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "bt-types.h"

G_BEGIN_DECLS

gboolean bt_options_check (GVariant *options, BtKind kind, GError **error);
gboolean bt_options_check_string_dict (GVariant *dict, const char *const *keys, const char *option,
                                       GError **error);
gboolean bt_options_parse_headers (GVariant *headers, GPtrArray *plain, GPtrArray *secret,
                                   GError **error);
gboolean bt_options_parse_credential (GVariant *credential, const char *option, char **out_username,
                                      char **out_password, GError **error);
GStrv bt_options_parse_mirrors (GVariant *mirrors, GError **error);

G_END_DECLS
