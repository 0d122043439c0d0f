/* bgt-request.h: what downloaders and uploaders put in every request
 *
 * BgtDownloader and BgtUploader have the same properties for the options
 * that downloads and uploads share, installed here with the same ids and
 * the same definitions, so that the two cannot drift apart.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "bgtransfer.h"

G_BEGIN_DECLS

/* The "notify" option's texts, in the order of the properties */
typedef enum
{
  BGT_NOTIFY_SUCCESS_TITLE,
  BGT_NOTIFY_SUCCESS_BODY,
  BGT_NOTIFY_FAILURE_TITLE,
  BGT_NOTIFY_FAILURE_BODY,
  BGT_N_NOTIFY_TEXTS
} BgtNotifyText;

typedef struct
{
  BgtClient *client;
  BgtCostPolicy cost_policy;
  BgtPriority priority;
  char *group;
  char *tag;
  gboolean start;
  BgtCompletionGroup *completion_group;
  gint64 max_rate;
  char *method;
  gboolean show_notifications;
  char *notify_texts[BGT_N_NOTIFY_TEXTS];
  GPtrArray *headers; /* alternating name, value */
  char *username;
  char *password;
  char *proxy_username;
  char *proxy_password;
} BgtRequestDefaults;

/* The shared properties: ids 1 to BGT_REQUEST_N_PROPS - 1 in both classes,
 * whose own come after */
enum
{
  BGT_REQUEST_PROP_0,
  BGT_REQUEST_PROP_CLIENT,
  BGT_REQUEST_PROP_COST_POLICY,
  BGT_REQUEST_PROP_PRIORITY,
  BGT_REQUEST_PROP_GROUP,
  BGT_REQUEST_PROP_TAG,
  BGT_REQUEST_PROP_START,
  BGT_REQUEST_PROP_COMPLETION_GROUP,
  BGT_REQUEST_PROP_MAX_RATE,
  BGT_REQUEST_PROP_METHOD,
  BGT_REQUEST_PROP_SHOW_NOTIFICATIONS,
  BGT_REQUEST_PROP_NOTIFY_SUCCESS_TITLE,
  BGT_REQUEST_PROP_NOTIFY_SUCCESS_BODY,
  BGT_REQUEST_PROP_NOTIFY_FAILURE_TITLE,
  BGT_REQUEST_PROP_NOTIFY_FAILURE_BODY,
  BGT_REQUEST_N_PROPS
};

#define BGT_REQUEST_RW (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY)

void _bgt_request_defaults_init (BgtRequestDefaults *defaults);
void _bgt_request_defaults_clear (BgtRequestDefaults *defaults);
void _bgt_request_install_properties (GParamSpec **props);
gboolean _bgt_request_get_property (BgtRequestDefaults *defaults, guint prop_id, GValue *value);
gboolean _bgt_request_set_property (GObject *owner, BgtRequestDefaults *defaults,
                                    GParamSpec **props, guint prop_id, const GValue *value);

/* Setters that notify on a real change only */
void _bgt_request_set_string (GObject *owner, GParamSpec *pspec, char **field, const char *value);
void _bgt_request_set_int (GObject *owner, GParamSpec *pspec, int *field, int value);
void _bgt_request_set_int64 (GObject *owner, GParamSpec *pspec, gint64 *field, gint64 value);
void _bgt_request_set_strv (GObject *owner, GParamSpec *pspec, GStrv *field,
                            const char *const *value);
void _bgt_request_set_object (GObject *owner, GParamSpec *pspec, gpointer field, gpointer value);
void _bgt_request_set_notification_texts (GObject *owner, BgtRequestDefaults *defaults,
                                          GParamSpec **props, const char *success_title,
                                          const char *success_body, const char *failure_title,
                                          const char *failure_body);

void _bgt_request_defaults_set_header (BgtRequestDefaults *defaults, const char *name,
                                       const char *value);
void _bgt_request_defaults_set_credential (BgtRequestDefaults *defaults, gboolean proxy,
                                           const char *username, const char *password);
void _bgt_request_defaults_add_options (BgtRequestDefaults *defaults, GVariantBuilder *options);
void _bgt_create_transfer (BgtRequestDefaults *defaults, const char *method, const char *uri,
                           GVariantBuilder *options, GUnixFDList *fd_list, gpointer source_object,
                           gpointer source_tag, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);
gpointer _bgt_create_transfer_finish (gpointer source_object, GAsyncResult *result,
                                      gpointer source_tag, GError **error);

G_END_DECLS
