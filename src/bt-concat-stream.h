/* bt-concat-stream.h: one input stream after another
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define BT_TYPE_CONCAT_INPUT_STREAM (bt_concat_input_stream_get_type ())
G_DECLARE_FINAL_TYPE (BtConcatInputStream, bt_concat_input_stream, BT, CONCAT_INPUT_STREAM,
                      GInputStream)

GInputStream *bt_concat_input_stream_new (GPtrArray *streams);
void bt_concat_input_stream_add_limiter (BtConcatInputStream *self, gpointer limiter);

G_END_DECLS
