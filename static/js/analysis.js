// The analysis page's chart (ECharts, served locally) from the table's own numbers
// ({{ chart_data|json_script:"analysis-data" }}); the table below it is the accessible alternative.
// No inline script or style (CSP).
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", () => {
    const node = document.getElementById("analysis-data");
    const element = document.querySelector("[data-analysis-chart]");
    if (!node || !element || !window.echarts) return;
    let data;
    try {
      data = JSON.parse(node.textContent);
    } catch (error) {
      return;
    }
    if (!data || !data.categories || data.categories.length === 0 || data.series.length === 0) return;
    element.style.height = "360px"; // CSSOM, allowed by the content security policy
    const chart = window.echarts.init(element, null, { renderer: "canvas" });
    chart.setOption({
      aria: { enabled: true },
      animation: false,
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
      textStyle: {
        fontFamily: '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif',
      },
      xAxis: { type: "category", data: data.categories, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", name: data.measure },
      series: data.series.map((s) => ({ name: s.name, type: data.type, data: s.values, barMaxWidth: 32 })),
    });
    window.addEventListener("resize", () => chart.resize());
  });
})();
