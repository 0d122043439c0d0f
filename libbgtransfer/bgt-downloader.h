/* bgt-downloader.h: creates downloads
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(BGT_INSIDE) && !defined(BGT_COMPILATION)
#error "Only <bgtransfer.h> can be included directly."
#endif

#include "bgt-completion-group.h"
#include "bgt-download.h"

G_BEGIN_DECLS

#define BGT_TYPE_DOWNLOADER (bgt_downloader_get_type ())
BGT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (BgtDownloader, bgt_downloader, BGT, DOWNLOADER, GObject)

BGT_AVAILABLE_IN_ALL
BgtDownloader *bgt_downloader_new (BgtClient *client);
BGT_AVAILABLE_IN_ALL
BgtClient *bgt_downloader_get_client (BgtDownloader *self);

/* The options downloads and uploads share */
BGT_AVAILABLE_IN_ALL
BgtCostPolicy bgt_downloader_get_cost_policy (BgtDownloader *self);
BGT_AVAILABLE_IN_ALL
void bgt_downloader_set_cost_policy (BgtDownloader *self, BgtCostPolicy cost_policy);
BGT_AVAILABLE_IN_ALL
BgtPriority bgt_downloader_get_priority (BgtDownloader *self);
BGT_AVAILABLE_IN_ALL
void bgt_downloader_set_priority (BgtDownloader *self, BgtPriority priority);
BGT_AVAILABLE_IN_ALL
const char *bgt_downloader_get_group (BgtDownloader *self);
BGT_AVAILABLE_IN_ALL
void bgt_downloader_set_group (BgtDownloader *self, const char *group);
BGT_AVAILABLE_IN_ALL
const char *bgt_downloader_get_tag (BgtDownloader *self);
BGT_AVAILABLE_IN_ALL
void bgt_downloader_set_tag (BgtDownloader *self, const char *tag);
BGT_AVAILABLE_IN_ALL
gboolean bgt_downloader_get_start (BgtDownloader *self);
BGT_AVAILABLE_IN_ALL
void bgt_downloader_set_start (BgtDownloader *self, gboolean start);
BGT_AVAILABLE_IN_1_0
BgtCompletionGroup *bgt_downloader_get_completion_group (BgtDownloader *self);
BGT_AVAILABLE_IN_1_0
void bgt_downloader_set_completion_group (BgtDownloader *self,
                                          BgtCompletionGroup *completion_group);
BGT_AVAILABLE_IN_1_0
gint64 bgt_downloader_get_max_rate (BgtDownloader *self);
BGT_AVAILABLE_IN_1_0
void bgt_downloader_set_max_rate (BgtDownloader *self, gint64 max_rate);
BGT_AVAILABLE_IN_1_0
const char *bgt_downloader_get_method (BgtDownloader *self);
BGT_AVAILABLE_IN_1_0
void bgt_downloader_set_method (BgtDownloader *self, const char *method);
BGT_AVAILABLE_IN_1_0
gboolean bgt_downloader_get_show_notifications (BgtDownloader *self);
BGT_AVAILABLE_IN_1_0
void bgt_downloader_set_show_notifications (BgtDownloader *self, gboolean show_notifications);
BGT_AVAILABLE_IN_1_0
void bgt_downloader_set_notification_texts (BgtDownloader *self, const char *success_title,
                                            const char *success_body, const char *failure_title,
                                            const char *failure_body);
BGT_AVAILABLE_IN_ALL
void bgt_downloader_set_request_header (BgtDownloader *self, const char *name, const char *value);
BGT_AVAILABLE_IN_ALL
void bgt_downloader_set_server_credential (BgtDownloader *self, const char *username,
                                           const char *password);
BGT_AVAILABLE_IN_1_0
void bgt_downloader_set_proxy_credential (BgtDownloader *self, const char *username,
                                          const char *password);

/* The options of downloads */
BGT_AVAILABLE_IN_ALL
gboolean bgt_downloader_get_overwrite (BgtDownloader *self);
BGT_AVAILABLE_IN_ALL
void bgt_downloader_set_overwrite (BgtDownloader *self, gboolean overwrite);
BGT_AVAILABLE_IN_ALL
const char *bgt_downloader_get_checksum (BgtDownloader *self);
BGT_AVAILABLE_IN_ALL
void bgt_downloader_set_checksum (BgtDownloader *self, const char *checksum);
BGT_AVAILABLE_IN_1_0
const char *const *bgt_downloader_get_mirrors (BgtDownloader *self);
BGT_AVAILABLE_IN_1_0
void bgt_downloader_set_mirrors (BgtDownloader *self, const char *const *mirrors);
BGT_AVAILABLE_IN_1_0
guint bgt_downloader_get_connections (BgtDownloader *self);
BGT_AVAILABLE_IN_1_0
void bgt_downloader_set_connections (BgtDownloader *self, guint connections);
BGT_AVAILABLE_IN_1_0
gboolean bgt_downloader_get_random_access (BgtDownloader *self);
BGT_AVAILABLE_IN_1_0
void bgt_downloader_set_random_access (BgtDownloader *self, gboolean random_access);
BGT_AVAILABLE_IN_1_0
BgtIfChanged bgt_downloader_get_if_changed (BgtDownloader *self);
BGT_AVAILABLE_IN_1_0
void bgt_downloader_set_if_changed (BgtDownloader *self, BgtIfChanged if_changed);

BGT_AVAILABLE_IN_ALL
void bgt_downloader_create_download_async (BgtDownloader *self, const char *uri, GFile *destination,
                                           GCancellable *cancellable, GAsyncReadyCallback callback,
                                           gpointer user_data);
BGT_AVAILABLE_IN_ALL
BgtDownload *bgt_downloader_create_download_finish (BgtDownloader *self, GAsyncResult *result,
                                                    GError **error);
BGT_AVAILABLE_IN_ALL
void bgt_downloader_create_download_for_fd_async (BgtDownloader *self, const char *uri, int fd,
                                                  GCancellable *cancellable,
                                                  GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_ALL
BgtDownload *bgt_downloader_create_download_for_fd_finish (BgtDownloader *self,
                                                           GAsyncResult *result, GError **error);

G_END_DECLS
