/* bgt-content-part.h: one part of a multipart/form-data upload
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(BGT_INSIDE) && !defined(BGT_COMPILATION)
#error "Only <bgtransfer.h> can be included directly."
#endif

#include <gio/gio.h>

#include "bgt-version.h"

G_BEGIN_DECLS

#define BGT_TYPE_CONTENT_PART (bgt_content_part_get_type ())
BGT_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (BgtContentPart, bgt_content_part, BGT, CONTENT_PART, GObject)

BGT_AVAILABLE_IN_ALL
BgtContentPart *bgt_content_part_new_for_file (const char *name, GFile *file);
BGT_AVAILABLE_IN_1_0
BgtContentPart *bgt_content_part_new_for_fd (const char *name, int fd, GError **error);
BGT_AVAILABLE_IN_ALL
BgtContentPart *bgt_content_part_new_for_value (const char *name, const char *value);
BGT_AVAILABLE_IN_1_0
BgtContentPart *bgt_content_part_new_for_bytes (const char *name, GBytes *value);
BGT_AVAILABLE_IN_1_0
const char *bgt_content_part_get_name (BgtContentPart *self);
BGT_AVAILABLE_IN_1_0
const char *bgt_content_part_get_filename (BgtContentPart *self);
BGT_AVAILABLE_IN_ALL
void bgt_content_part_set_filename (BgtContentPart *self, const char *filename);
BGT_AVAILABLE_IN_1_0
const char *bgt_content_part_get_content_type (BgtContentPart *self);
BGT_AVAILABLE_IN_ALL
void bgt_content_part_set_content_type (BgtContentPart *self, const char *content_type);
BGT_AVAILABLE_IN_ALL
void bgt_content_part_set_header (BgtContentPart *self, const char *name, const char *value);

G_END_DECLS
