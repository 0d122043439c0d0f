/* bgt-upload.c: a upload
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bgt-private.h"

/**
 * BgtUpload:
 *
 * A upload: a #BgtTransfer with a #BgtUpload:source.
 *
 * Since: 0.1
 */
struct _BgtUpload
{
  BgtTransfer parent_instance;
};

G_DEFINE_FINAL_TYPE (BgtUpload, bgt_upload, BGT_TYPE_TRANSFER)

enum
{
  PROP_0,
  PROP_SOURCE,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

static void
bgt_upload_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
      case PROP_SOURCE:
        g_value_set_string (value, _bgt_transfer_get_location (BGT_TRANSFER (object)));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bgt_upload_class_init (BgtUploadClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = bgt_upload_get_property;

  /**
   * BgtUpload:source:
   *
   * The path of the source file; %NULL when the application passed a
   * file descriptor.
   *
   * Since: 0.1
   */
  props[PROP_SOURCE]
      = g_param_spec_string ("source", NULL, NULL, NULL,
                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
bgt_upload_init (BgtUpload *self)
{
}

/**
 * bgt_upload_get_source:
 * @self: a #BgtUpload
 *
 * Returns: (nullable): the path of the source file
 *
 * Since: 0.1
 */
const char *
bgt_upload_get_source (BgtUpload *self)
{
  g_return_val_if_fail (BGT_IS_UPLOAD (self), NULL);
  return _bgt_transfer_get_location (BGT_TRANSFER (self));
}
