/* xlstm.h -- DNA-xLSTM specifics beyond the generic model interface. */
#ifndef HD_XLSTM_H
#define HD_XLSTM_H

#include <stddef.h>

#include "model.h"

/* Choose the mLSTM cell form for later forwards: HD_MLSTM_PARALLEL, HD_MLSTM_CHUNKWISE (chunk positions
 * per chunk; 0: the configured m_chunk_size, at most 128) or HD_MLSTM_RECURRENT (state memory independent of the
 * length); -1 restores the form model_config.json names.  -1 with an error when m is not a DNA-xLSTM
 * model or the form is unknown. */
int hd_xlstm_set_form(hd_model *m, int form, size_t chunk);

#endif
