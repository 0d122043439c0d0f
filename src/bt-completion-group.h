/* bt-completion-group.h: wakes an application when its transfers have ended
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "bt-callers.h"

G_BEGIN_DECLS

#define BT_COMPLETION_GROUP_PATH_PREFIX "/org/freedesktop/BackgroundTransfer/completion_group/"

#define BT_TYPE_COMPLETION_GROUP (bt_completion_group_get_type ())
G_DECLARE_FINAL_TYPE (BtCompletionGroup, bt_completion_group, BT, COMPLETION_GROUP, GObject)

const char *bt_completion_group_get_id (BtCompletionGroup *self);
const char *bt_completion_group_get_object_path (BtCompletionGroup *self);
const char *bt_completion_group_get_app_id (BtCompletionGroup *self);
gboolean bt_completion_group_is_enabled (BtCompletionGroup *self);
gboolean bt_completion_group_has_fired (BtCompletionGroup *self);
GPtrArray *bt_completion_group_get_members (BtCompletionGroup *self);
void bt_completion_group_add_member (BtCompletionGroup *self, const char *transfer_id);

BtCompletionGroup *bt_completion_group_new (const char *id, const char *app_id, const char *action);
BtCompletionGroup *bt_completion_group_new_from_record (const char *id, GVariant *record);
GVariant *bt_completion_group_serialize (BtCompletionGroup *self);
gboolean bt_completion_group_export (BtCompletionGroup *self, GDBusConnection *connection,
                                     BtCallers *callers, GError **error);
void bt_completion_group_unexport (BtCompletionGroup *self);
void bt_completion_group_fire (BtCompletionGroup *self, GVariant *transfers);

G_END_DECLS
