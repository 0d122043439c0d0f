/* bt-source.h: what an upload sends: a file, a stream, or multipart parts
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

#include "bt-resume.h"

G_BEGIN_DECLS

typedef struct _BtSource BtSource;

BtSource *bt_source_new_for_path (const char *path, GError **error);
BtSource *bt_source_new_for_fd (int fd, GError **error);
BtSource *bt_source_new_for_parts (GVariant *parts, GUnixFDList *fd_list, gboolean sandboxed,
                                   GError **error);
BtSource *bt_source_new_from_record (GVariant *record, GError **error);
void bt_source_free (BtSource *self);

GVariant *bt_source_serialize (BtSource *self);
const char *bt_source_get_path (BtSource *self);
void bt_source_collect_fd_identities (BtSource *self, GPtrArray *out);
const char *bt_source_get_content_type (BtSource *self);
guint64 bt_source_get_size (BtSource *self);
gboolean bt_source_is_seekable (BtSource *self);
gboolean bt_source_can_reopen (BtSource *self);
gboolean bt_source_check_unchanged (BtSource *self, GError **error);
GInputStream *bt_source_open (BtSource *self, guint64 offset, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BtSource, bt_source_free)

G_END_DECLS
