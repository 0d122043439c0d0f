/* bt-documents.h: files of xdg-desktop-portal's document portal
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

gboolean bt_document_path_parse (const char *path, const char *mount, char **out_doc_id,
                                 char **out_rest);
gboolean bt_document_path_parse_default (const char *path, char **out_doc_id, char **out_rest);
char *bt_document_read_host_path (int fd);
char *bt_document_host_file (const char *document_host_path, const char *rest);

void bt_document_info_async (GDBusConnection *connection, const char *doc_id,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data);
char *bt_document_info_finish (GAsyncResult *result, GVariant **out_apps, GError **error);
gboolean bt_document_portal_unreachable (const GError *error);
gboolean bt_document_app_may (GVariant *apps, const char *app_id, const char *permission);

G_END_DECLS
