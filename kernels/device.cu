// device.cu -- CUDA device discovery for the GPU backend.
#include <cuda_runtime.h>

extern "C" int hd_cuda_probe_devices(void)
{
    int n = 0;
    // A missing driver or no device is not an error: the CPU backend is used instead.
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return n;
}
