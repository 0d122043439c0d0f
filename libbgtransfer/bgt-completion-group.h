/* bgt-completion-group.h: wakes the application when its transfers have ended
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(BGT_INSIDE) && !defined(BGT_COMPILATION)
#error "Only <bgtransfer.h> can be included directly."
#endif

#include <gio/gio.h>

#include "bgt-client.h"
#include "bgt-version.h"

G_BEGIN_DECLS

#define BGT_TYPE_COMPLETION_GROUP (bgt_completion_group_get_type ())
BGT_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (BgtCompletionGroup, bgt_completion_group, BGT, COMPLETION_GROUP, GObject)

BGT_AVAILABLE_IN_1_0
BgtClient *bgt_completion_group_get_client (BgtCompletionGroup *self);
BGT_AVAILABLE_IN_1_0
const char *bgt_completion_group_get_object_path (BgtCompletionGroup *self);
BGT_AVAILABLE_IN_1_0
const char *bgt_completion_group_get_action (BgtCompletionGroup *self);
BGT_AVAILABLE_IN_1_0
gboolean bgt_completion_group_get_enabled (BgtCompletionGroup *self);
BGT_AVAILABLE_IN_1_0
const char *const *bgt_completion_group_get_members (BgtCompletionGroup *self);

BGT_AVAILABLE_IN_1_0
void bgt_completion_group_enable_async (BgtCompletionGroup *self, GCancellable *cancellable,
                                        GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_1_0
gboolean bgt_completion_group_enable_finish (BgtCompletionGroup *self, GAsyncResult *result,
                                             GError **error);
BGT_AVAILABLE_IN_1_0
void bgt_completion_group_refresh_async (BgtCompletionGroup *self, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_1_0
gboolean bgt_completion_group_refresh_finish (BgtCompletionGroup *self, GAsyncResult *result,
                                              GError **error);

G_END_DECLS
