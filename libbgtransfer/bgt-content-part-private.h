/* bgt-content-part-private.h: a part as the service takes it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

#include "bgt-content-part.h"

G_BEGIN_DECLS

GVariant *_bgt_content_part_to_variant (BgtContentPart *self, GUnixFDList *fd_list, GError **error);

G_END_DECLS
