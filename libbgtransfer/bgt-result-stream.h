/* bgt-result-stream.h: a download's data, read in any order as it arrives
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(BGT_INSIDE) && !defined(BGT_COMPILATION)
#error "Only <bgtransfer.h> can be included directly."
#endif

#include <gio/gio.h>

#include "bgt-download.h"
#include "bgt-version.h"

G_BEGIN_DECLS

#define BGT_TYPE_RESULT_STREAM (bgt_result_stream_get_type ())
BGT_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (BgtResultStream, bgt_result_stream, BGT, RESULT_STREAM, GInputStream)

BGT_AVAILABLE_IN_1_0
BgtDownload *bgt_result_stream_get_download (BgtResultStream *self);
BGT_AVAILABLE_IN_1_0
gint64 bgt_result_stream_get_size (BgtResultStream *self);
BGT_AVAILABLE_IN_1_0
gboolean bgt_result_stream_has_data (BgtResultStream *self, goffset offset, gsize length);

G_END_DECLS
