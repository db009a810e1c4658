{
  "targets": [
    {
      "target_name": "crackdiff_native",
      "sources": ["src/binding.cc", "src/kernels.cc", "src/layout.cc"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno"],
      "cflags_cc!": ["-O2", "-std=gnu++17"],
      "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17"]}
    }
  ]
}
