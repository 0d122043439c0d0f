/* bgt-download.h: a download
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(BGT_INSIDE) && !defined(BGT_COMPILATION)
#error "Only <bgtransfer.h> can be included directly."
#endif

#include "bgt-transfer.h"

G_BEGIN_DECLS

typedef struct _BgtResultStream BgtResultStream;

#define BGT_TYPE_DOWNLOAD (bgt_download_get_type ())
BGT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (BgtDownload, bgt_download, BGT, DOWNLOAD, BgtTransfer)

BGT_AVAILABLE_IN_ALL
const char *bgt_download_get_destination (BgtDownload *self);

BGT_AVAILABLE_IN_1_0
void bgt_download_open_result_async (BgtDownload *self, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_1_0
GInputStream *bgt_download_open_result_finish (BgtDownload *self, GAsyncResult *result,
                                               GError **error);

BGT_AVAILABLE_IN_1_0
void bgt_download_request_range_async (BgtDownload *self, gint64 offset, gint64 length,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data);
BGT_AVAILABLE_IN_1_0
gboolean bgt_download_request_range_finish (BgtDownload *self, GAsyncResult *result,
                                            GError **error);

/* In bgt-result-stream.c */
BGT_AVAILABLE_IN_1_0
void bgt_download_open_result_stream_async (BgtDownload *self, GCancellable *cancellable,
                                            GAsyncReadyCallback callback, gpointer user_data);
BGT_AVAILABLE_IN_1_0
BgtResultStream *bgt_download_open_result_stream_finish (BgtDownload *self, GAsyncResult *result,
                                                         GError **error);

G_END_DECLS
