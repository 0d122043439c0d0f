/* bt-fd-identity.h: which file a caller's descriptor is, to open it again
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _BtFdIdentity BtFdIdentity;

BtFdIdentity *bt_fd_identity_new (int fd);
BtFdIdentity *bt_fd_identity_new_from_record (GVariant *record);
void bt_fd_identity_free (BtFdIdentity *self);
GVariant *bt_fd_identity_serialize (BtFdIdentity *self);
gboolean bt_fd_identity_can_reopen (BtFdIdentity *self);
int bt_fd_identity_reopen (BtFdIdentity *self, int flags, GError **error);
int bt_open_no_symlinks (const char *path, int flags, GError **error);
const char *bt_fd_identity_get_path (BtFdIdentity *self);
const char *bt_fd_identity_get_document (BtFdIdentity *self);
const char *bt_fd_identity_get_document_path (BtFdIdentity *self);
gboolean bt_fd_identity_needs_host (BtFdIdentity *self);
gboolean bt_fd_identity_set_host (BtFdIdentity *self, const char *host_file, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtFdIdentity, bt_fd_identity_free)

G_END_DECLS
