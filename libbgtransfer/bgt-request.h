/* bgt-request.h: what downloaders and uploaders put in every request
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "bgtransfer.h"

G_BEGIN_DECLS

typedef struct
{
  BgtCostPolicy cost_policy;
  BgtPriority priority;
  char *group;
  char *tag;
  gboolean start;
  GPtrArray *headers; /* alternating name, value */
  char *username;
  char *password;
} BgtRequestDefaults;

void _bgt_request_defaults_init (BgtRequestDefaults *defaults);
void _bgt_request_defaults_clear (BgtRequestDefaults *defaults);
void _bgt_request_defaults_set_header (BgtRequestDefaults *defaults, const char *name,
                                       const char *value);
void _bgt_request_defaults_set_credential (BgtRequestDefaults *defaults, const char *username,
                                           const char *password);
void _bgt_request_defaults_add_options (BgtRequestDefaults *defaults, BgtClient *client,
                                        GVariantBuilder *options);
void _bgt_create_transfer (BgtClient *client, const char *method, const char *uri,
                           GVariantBuilder *options, GUnixFDList *fd_list, gpointer source_object,
                           gpointer source_tag, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);

G_END_DECLS
